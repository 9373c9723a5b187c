import { barChart, lineChart, stackSvgs, type Series } from './charts';
import { escapeXml } from './svg';

/**
 * The problems that make `xml` not well-formed XML, [] when there are none: one root element, tags
 * balanced and properly nested, attributes quoted and not repeated, `&` only in entities, no `<` in text.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const entities = /&(?!(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);)/i;
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (entities.test(text)) problems.push(`bare & in text: ${text.slice(0, 60)}`);
    if (!stack.length && text.trim()) problems.push(`text outside the root: ${text.slice(0, 60)}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) {
      problems.push(`malformed tag: ${xml.slice(lt, lt + 80)}`);
      break;
    }
    const [, closing, name, attributes = '', selfClosing] = m;
    const names = [...attributes.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)].map((a) => {
      if (entities.test(a[2] as string)) problems.push(`bare & in attribute ${a[1]} of <${name}>`);
      return a[1];
    });
    if (new Set(names).size !== names.length) problems.push(`repeated attribute in <${name}>`);
    if (closing) {
      if (attributes.trim() || selfClosing) problems.push(`bad closing tag </${name}>`);
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
      if (!stack.length) roots++;
    } else if (selfClosing) {
      if (!stack.length) roots++;
    } else {
      stack.push(name as string);
    }
    i = tag.lastIndex;
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

function expectCleanSvg(svg: string): void {
  expect(xmlProblems(svg)).toEqual([]);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
}

describe('xmlProblems (the checker the chart tests rely on)', () => {
  it('accepts well-formed XML and finds the usual mistakes', () => {
    expect(xmlProblems('<a x="1"><b/>t &amp; u</a>')).toEqual([]);
    expect(xmlProblems('<a><b></a>')).not.toEqual([]);
    expect(xmlProblems('<a>Tom & Jerry</a>')).not.toEqual([]);
    expect(xmlProblems('<a x=1/>')).not.toEqual([]);
    expect(xmlProblems('<a x="1" x="2"/>')).not.toEqual([]);
    expect(xmlProblems('<a/><b/>')).not.toEqual([]);
    expect(xmlProblems('<a><b>')).not.toEqual([]);
  });
});

describe('lineChart', () => {
  const rates = [100, 200, 500, 1000, 2000];
  const series: Series[] = [
    { name: 'ours', points: rates.map((x) => ({ x, y: x * 0.99 })) },
    { name: '@nestjs/microservices', points: rates.map((x) => ({ x, y: Math.min(x, 1500) })), dashed: true },
    { name: 'odd <name> & "quotes"', points: [...rates.map((x) => ({ x, y: 1 / x })), { x: 3000, y: NaN }] },
    {
      name: 'broken',
      points: [
        { x: NaN, y: 1 },
        { x: 1, y: Infinity },
        { x: -Infinity, y: 0 },
        { x: 5, y: -Infinity },
      ],
    },
  ];

  it('is a well-formed SVG document with every series name, axis titles and no NaN', () => {
    const svg = lineChart({
      title: 'Throughput & latency',
      xLabel: 'offered rate (msg/s)',
      yLabel: 'achieved (msg/s)',
      series,
      xTicks: [...rates.map((x) => ({ x, label: String(x) })), { x: 3000, label: 'flat out' }],
      referenceLines: [
        { y: 1200, label: 'target <1200>' },
        { y: NaN, label: 'ignored' },
      ],
    });
    expectCleanSvg(svg);
    for (const s of series) expect(svg).toContain(escapeXml(s.name));
    for (const text of [
      'Throughput &amp; latency',
      'offered rate (msg/s)',
      'achieved (msg/s)',
      'flat out',
      'target &lt;1200&gt;',
    ])
      expect(svg).toContain(text);
    expect(svg).not.toContain('ignored');
  });

  it('gives the series distinct colours and dashes the dashed ones', () => {
    const many: Series[] = Array.from({ length: 10 }, (_, i) => ({
      name: `s${i}`,
      points: [
        { x: i, y: i },
        { x: i + 1, y: i },
      ],
    }));
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: many });
    const strokes = [...svg.matchAll(/<polyline[^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    expect(strokes).toHaveLength(10);
    expect(new Set(strokes).size).toBe(10);
    const dashed = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [series[1] as Series] });
    expect(dashed).toMatch(/<polyline[^>]*stroke-dasharray/);
  });

  it('puts y ticks at nice steps', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a',
          points: [
            { x: 0, y: 0 },
            { x: 10, y: 87 },
          ],
        },
      ],
    });
    const labels = [...svg.matchAll(/<text [^>]*text-anchor="end">([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['0', '20', '40', '60', '80', '100']);
  });

  it('skips points at or below 0 on a log axis, and labels it in decades or 1-2-5 steps', () => {
    const svg = lineChart({
      title: 'p99',
      xLabel: 'rate',
      yLabel: 'ms',
      logY: true,
      logX: true,
      series: [
        {
          name: 'a',
          points: [
            { x: 100, y: 0 },
            { x: 200, y: 1.5 },
            { x: 500, y: 40 },
            { x: 0, y: 3 },
          ],
        },
        { name: 'b', points: [{ x: 100, y: -2 }] },
      ],
    });
    expectCleanSvg(svg);
    expect(svg.match(/<circle [^>]*><title>a:/g)).toHaveLength(2);
    expect(svg).toMatch(/>50<\/text>/);
  });

  it('honours yMin on either scale', () => {
    const points = [
      { x: 1, y: 40 },
      { x: 2, y: 60 },
    ];
    expectCleanSvg(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', yMin: 30, series: [{ name: 'a', points }] }));
    expectCleanSvg(
      lineChart({ title: 't', xLabel: 'x', yLabel: 'y', yMin: 10, logY: true, series: [{ name: 'a', points }] }),
    );
  });

  it('copes with no series, no points and a single point', () => {
    for (const s of [[], [{ name: 'empty', points: [] }], [{ name: 'one', points: [{ x: 3, y: 3 }] }]]) {
      const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: s, width: 300, height: 200 });
      expectCleanSvg(svg);
      for (const { name } of s) expect(svg).toContain(name);
    }
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toContain('no data');
  });

  it('leaves out x labels that would overlap, keeping their ticks', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      width: 300,
      series: [
        {
          name: 'a',
          points: [
            { x: 0, y: 1 },
            { x: 100, y: 2 },
          ],
        },
      ],
      xTicks: [
        { x: 0, label: 'zero' },
        { x: 1, label: 'one' },
        { x: 100, label: 'hundred' },
      ],
    });
    expect(svg).toContain('>zero<');
    expect(svg).not.toContain('>one<');
    expect(svg).toContain('>hundred<');
  });

  it('draws long series without a marker per point', () => {
    const points = Array.from({ length: 500 }, (_, i) => ({ x: i, y: Math.sin(i / 10) }));
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points }] });
    expectCleanSvg(svg);
    expect(svg.match(/<circle /g)).toHaveLength(1); // the legend's
  });
});

describe('barChart', () => {
  it('is a well-formed SVG document with every group and series name, whiskers, and no NaN', () => {
    const svg = barChart({
      title: 'Saga latency',
      yLabel: 'median (ms)',
      groups: ['classic', 'quorum', '<stream>'],
      series: [
        { name: 'sequential', values: [12.4, 18.9, NaN], low: [10, 15, NaN], high: [16, 25, 3] },
        { name: 'burst & co', values: [45.2, 61.7], low: [30, 44], high: [80, 95] },
      ],
      referenceLines: [{ y: 50, label: 'SLO 50 ms' }],
    });
    expectCleanSvg(svg);
    for (const text of [
      'classic',
      'quorum',
      '&lt;stream&gt;',
      'sequential',
      'burst &amp; co',
      'median (ms)',
      'SLO 50 ms',
    ])
      expect(svg).toContain(text);
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(4); // two NaN/missing values have no bar
    expect(svg.match(/<path d="M/g)).toHaveLength(4); // whiskers where low and high are both numbers
    expect(svg).toContain('>45.2<');
  });

  it('copes with negative values, no groups and no series', () => {
    expectCleanSvg(
      barChart({ title: 't', yLabel: 'y', groups: ['a', 'b'], series: [{ name: 's', values: [-5, 10] }] }),
    );
    expectCleanSvg(barChart({ title: 't', yLabel: 'y', groups: [], series: [{ name: 's', values: [] }] }));
    const empty = barChart({ title: 't', yLabel: 'y', groups: ['a'], series: [] });
    expectCleanSvg(empty);
    expect(empty).toContain('no data');
  });
});

describe('stackSvgs', () => {
  const a = lineChart({
    title: 'panel A',
    xLabel: 'x',
    yLabel: 'y',
    width: 400,
    height: 300,
    series: [
      {
        name: 'a',
        points: [
          { x: 1, y: 1 },
          { x: 2, y: 3 },
        ],
      },
    ],
  });
  const b = barChart({
    title: 'panel B',
    yLabel: 'y',
    width: 500,
    height: 200,
    groups: ['g'],
    series: [{ name: 'b', values: [1] }],
  });

  it('stacks documents one under the other by default', () => {
    const svg = stackSvgs([a, b], { gap: 10 });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="500" height="510"/);
    expect(svg).toContain('<svg x="0" y="0" xmlns');
    expect(svg).toContain('<svg x="0" y="310" xmlns');
    expect(svg).toContain('panel A');
    expect(svg).toContain('panel B');
  });

  it('places them in columns, and reads sizes from a viewBox or an XML declaration', () => {
    const bare =
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 80"><rect width="5" height="5"/></svg>';
    const svg = stackSvgs([a, b, bare], { columns: 2, gap: 20 });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toMatch(/^<svg [^>]*width="920" height="400"/);
    expect(svg).toContain('<svg x="420" y="0" xmlns');
    expect(svg).toContain(
      '<svg x="0" y="320" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 80" width="120" height="80">',
    );
    expect(svg).not.toContain('<?xml');
  });

  it('gives an empty but valid document for no panels', () => {
    expect(xmlProblems(stackSvgs([]))).toEqual([]);
  });
});
