import {
  PALETTE,
  coord,
  escapeXml,
  formatTick,
  formatValue,
  linearTicks,
  logTicks,
  shortHash,
  textWidth,
  type Ticks,
} from './svg';

/** One line of a line chart; points that are not finite numbers (or not above 0 on a log axis) are skipped. */
export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
  dashed?: boolean;
  /** Overrides the palette's colour for this series. */
  color?: string;
}

/** A horizontal dashed line across the plot, e.g. a target, labelled at its right end. */
export interface ReferenceLine {
  y: number;
  label: string;
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Labelled ticks at chosen positions instead of nice numbers, e.g. offered rates and a "flat out" position. */
  xTicks?: Array<{ x: number; label: string }>;
  logY?: boolean;
  /** A logarithmic x axis (points and ticks at x <= 0 are skipped), e.g. for offered rates from 100 to 10 000. */
  logX?: boolean;
  /** The y axis starts here; by default at 0 (or below, for negative values), or at the decade below the smallest value on a log axis. */
  yMin?: number;
  width?: number;
  height?: number;
  referenceLines?: ReferenceLine[];
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  /** The categories along the x axis, e.g. `["classic", "quorum"]`. */
  groups: string[];
  /** One bar per series in each group: `values[i]` belongs to `groups[i]`; `low`/`high` draw a min-max whisker. */
  series: Array<{ name: string; values: number[]; low?: number[]; high?: number[]; color?: string }>;
  referenceLines?: ReferenceLine[];
  width?: number;
  height?: number;
}

const FONT = 11;
const AXIS = '#333';
const GRID = '#e6e6e6';
const REFERENCE = '#555';
/** Markers on every point unless a series has more points than this (a time series, say). */
const MAX_MARKED_POINTS = 60;

interface Plot {
  /** Left, right, top and bottom edges of the plot area. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

interface LegendEntry {
  name: string;
  color: string;
  kind: 'line' | 'bar';
  dashed?: boolean;
}

/**
 * A line chart as a standalone SVG document: title, both axes with titles and nice ticks (or the given
 * x ticks), light grid lines, one coloured line with point markers per series, a legend on the right
 * and optional horizontal reference lines.
 */
export function lineChart(options: LineChartOptions): string {
  const W = options.width ?? 760;
  const H = options.height ?? 420;
  const logY = options.logY ?? false;
  const logX = options.logX ?? false;
  const usable = (p: { x: number; y: number }) =>
    Number.isFinite(p.x) && Number.isFinite(p.y) && (!logY || p.y > 0) && (!logX || p.x > 0);
  const series = options.series.map((s, i) => ({
    ...s,
    points: s.points.filter(usable),
    color: s.color ?? (PALETTE[i % PALETTE.length] as string),
    // past the palette's ten colours, dashes tell the repeated colours apart
    dashed: s.dashed ?? i >= PALETTE.length,
  }));
  const xTicks = (options.xTicks ?? []).filter((t) => Number.isFinite(t.x) && (!logX || t.x > 0));
  const references = (options.referenceLines ?? []).filter((r) => Number.isFinite(r.y) && (!logY || r.y > 0));

  // y axis
  const ys = [...series.flatMap((s) => s.points.map((p) => p.y)), ...references.map((r) => r.y)];
  const yMin = options.yMin !== undefined && Number.isFinite(options.yMin) ? options.yMin : undefined;
  let yTicks: Ticks;
  if (logY) {
    const positive = ys.filter((y) => y > 0);
    yTicks = logTicks(yMin !== undefined && yMin > 0 ? yMin : Math.min(...positive), Math.max(...positive));
    if (yMin !== undefined && yMin > 0)
      yTicks = { ...yTicks, lo: yMin, values: yTicks.values.filter((v) => v >= yMin) };
  } else {
    const min = ys.length ? Math.min(0, ...ys) : 0;
    const max = ys.length ? Math.max(...ys) : 1;
    yTicks = linearTicks(yMin ?? min, Math.max(max, yMin ?? max), 5, yMin);
  }

  // x axis
  const xs = [...series.flatMap((s) => s.points.map((p) => p.x)), ...xTicks.map((t) => t.x)];
  let xLo: number;
  let xHi: number;
  let xLabels: Array<{ x: number; label: string }>;
  if (xTicks.length) {
    // a little room at both ends, so that the first and last points are not on the frame
    const t = logX ? Math.log10 : (x: number) => x;
    const min = t(Math.min(...xs));
    const max = t(Math.max(...xs));
    const pad = max > min ? (max - min) * 0.04 : 1;
    [xLo, xHi] = logX ? [10 ** (min - pad), 10 ** (max + pad)] : [min - pad, max + pad];
    xLabels = xTicks;
  } else if (logX) {
    const ticks = logTicks(Math.min(...xs), Math.max(...xs));
    [xLo, xHi] = [ticks.lo, ticks.hi];
    xLabels = ticks.values.map((x) => ({ x, label: formatTick(x) }));
  } else {
    const ticks = linearTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 8);
    [xLo, xHi] = [ticks.lo, ticks.hi];
    const axisMax = Math.max(...ticks.values.map(Math.abs));
    xLabels = ticks.values.map((x) => ({ x, label: formatTick(x, ticks.step, axisMax) }));
  }

  const yAxisMax = Math.max(...yTicks.values.map(Math.abs));
  const yLabels = yTicks.values.map((y) => ({ y, label: formatTick(y, yTicks.step, yAxisMax) }));
  const legend: LegendEntry[] = series.map((s) => ({ name: s.name, color: s.color, kind: 'line', dashed: s.dashed }));
  const plot = layout(W, H, yLabels, legend);

  const px = scale(xLo, xHi, plot.x0, plot.x1, logX);
  const py = scale(yTicks.lo, yTicks.hi, plot.y1, plot.y0, logY);

  const out = open(W, H, options.title);
  const clip = `plot-${shortHash(JSON.stringify([options.title, W, H, plot, series.map((s) => s.name)]))}`;
  out.push(
    `<defs><clipPath id="${clip}"><rect x="${coord(plot.x0)}" y="${coord(plot.y0 - 4)}" width="${coord(plot.x1 - plot.x0)}" height="${coord(plot.y1 - plot.y0 + 8)}"/></clipPath></defs>`,
  );
  drawYAxis(
    out,
    plot,
    yLabels.map((t) => ({ at: py(t.y), label: t.label })),
    options.yLabel,
    H,
  );
  let labelledUpTo = -Infinity;
  for (const t of xLabels) {
    const at = px(t.x);
    const x = coord(at);
    out.push(`<line x1="${x}" x2="${x}" y1="${coord(plot.y0)}" y2="${coord(plot.y1)}" stroke="${GRID}"/>`);
    out.push(`<line x1="${x}" x2="${x}" y1="${coord(plot.y1)}" y2="${coord(plot.y1 + 4)}" stroke="${AXIS}"/>`);
    // a label that would overlap the previous one is left out (its tick and grid line stay)
    const half = textWidth(t.label) / 2;
    if (at - half < labelledUpTo + 6) continue;
    labelledUpTo = at + half;
    out.push(`<text x="${x}" y="${coord(plot.y1 + 16)}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  drawXAxis(out, plot, options.xLabel);
  drawReferences(
    out,
    plot,
    references.map((r) => ({ ...r, at: py(r.y) })),
  );

  out.push(`<g clip-path="url(#${clip})">`);
  for (const s of series) {
    const points = s.points.map((p) => ({ ...p, px: px(p.x), py: py(p.y) }));
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<g><title>${escapeXml(s.name)}</title>`);
    if (points.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"${dash} points="${points.map((p) => `${coord(p.px)},${coord(p.py)}`).join(' ')}"/>`,
      );
    }
    if (points.length <= MAX_MARKED_POINTS) {
      for (const p of points) {
        out.push(
          `<circle cx="${coord(p.px)}" cy="${coord(p.py)}" r="3" fill="${s.color}"><title>${escapeXml(`${s.name}: ${formatValue(p.x)}, ${formatValue(p.y)}`)}</title></circle>`,
        );
      }
    }
    out.push('</g>');
  }
  out.push('</g>');
  if (!series.some((s) => s.points.length)) noData(out, plot);
  drawLegend(out, plot, legend, W);
  return close(out);
}

/**
 * A grouped bar chart as a standalone SVG document: one bar per series in each group, its value above
 * it, optional min-max whiskers, a y axis from 0 with nice ticks, a legend and optional reference lines.
 * Values that are not finite numbers leave their bar out.
 */
export function barChart(options: BarChartOptions): string {
  const W = options.width ?? 640;
  const H = options.height ?? 400;
  const groups = options.groups;
  const series = options.series.map((s, i) => ({ ...s, color: s.color ?? (PALETTE[i % PALETTE.length] as string) }));
  const references = (options.referenceLines ?? []).filter((r) => Number.isFinite(r.y));
  const finite = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const all = [
    ...series.flatMap((s) => groups.flatMap((_, g) => [s.values[g], s.low?.[g], s.high?.[g]])).filter(finite),
    ...references.map((r) => r.y),
  ];
  const ticks = linearTicks(Math.min(0, ...all), all.length ? Math.max(0, ...all) : 1, 5);
  const axisMax = Math.max(...ticks.values.map(Math.abs));
  const yLabels = ticks.values.map((y) => ({ y, label: formatTick(y, ticks.step, axisMax) }));
  const legend: LegendEntry[] = series.map((s) => ({ name: s.name, color: s.color, kind: 'bar' }));
  const plot = layout(W, H, yLabels, legend);
  const py = (y: number) => plot.y1 - ((y - ticks.lo) / (ticks.hi - ticks.lo || 1)) * (plot.y1 - plot.y0);

  const out = open(W, H, options.title);
  drawYAxis(
    out,
    plot,
    yLabels.map((t) => ({ at: py(t.y), label: t.label })),
    options.yLabel,
    H,
  );
  const band = (plot.x1 - plot.x0) / Math.max(1, groups.length);
  const barWidth = (band * 0.8) / Math.max(1, series.length);
  const labelled = barWidth >= 22;
  groups.forEach((group, g) => {
    const left = plot.x0 + g * band + band * 0.1;
    out.push(
      `<text x="${coord(plot.x0 + (g + 0.5) * band)}" y="${coord(plot.y1 + 16)}" text-anchor="middle">${escapeXml(group)}</text>`,
    );
    series.forEach((s, i) => {
      const value = s.values[g];
      const x = left + i * barWidth;
      const centre = x + barWidth / 2;
      const low = s.low?.[g];
      const high = s.high?.[g];
      if (finite(value)) {
        const top = Math.min(py(value), py(0));
        const height = Math.abs(py(value) - py(0));
        const range = finite(low) && finite(high) ? ` (${formatValue(low)} to ${formatValue(high)})` : '';
        out.push(
          `<rect x="${coord(x + 1)}" y="${coord(top)}" width="${coord(Math.max(1, barWidth - 2))}" height="${coord(height)}" fill="${s.color}"><title>${escapeXml(`${s.name}, ${group}: ${formatValue(value)}${range}`)}</title></rect>`,
        );
      }
      if (finite(low) && finite(high)) {
        const cap = Math.min(10, barWidth * 0.4) / 2;
        const [yLow, yHigh] = [coord(py(low)), coord(py(high))];
        out.push(
          `<path d="M${coord(centre)} ${yLow}V${yHigh}M${coord(centre - cap)} ${yLow}H${coord(centre + cap)}M${coord(centre - cap)} ${yHigh}H${coord(centre + cap)}" stroke="${AXIS}" stroke-width="1.2" fill="none"/>`,
        );
      }
      if (finite(value) && labelled) {
        const above = Math.max(value, finite(high) ? high : value, 0);
        out.push(
          `<text x="${coord(centre)}" y="${coord(py(above) - 4)}" text-anchor="middle" font-size="10">${escapeXml(formatValue(value))}</text>`,
        );
      }
    });
  });
  drawXAxis(out, plot, '');
  if (ticks.lo < 0) {
    out.push(
      `<line x1="${coord(plot.x0)}" x2="${coord(plot.x1)}" y1="${coord(py(0))}" y2="${coord(py(0))}" stroke="${AXIS}"/>`,
    );
  }
  drawReferences(
    out,
    plot,
    references.map((r) => ({ ...r, at: py(r.y) })),
  );
  if (!all.length) noData(out, plot);
  drawLegend(out, plot, legend, W);
  return close(out);
}

/**
 * Several SVG documents in one, `columns` side by side (1 by default) with `gap` pixels between them
 * (16 by default): each becomes a nested `<svg>` placed with x and y, sized by its width and height.
 */
export function stackSvgs(svgs: string[], options: { columns?: number; gap?: number } = {}): string {
  const columns = Math.max(1, Math.floor(options.columns ?? 1));
  const gap = Math.max(0, options.gap ?? 16);
  const panels = svgs.map((svg) => {
    const body = svg.replace(/^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?/, '').trim();
    const root = /^<svg\b[^>]*>/.exec(body)?.[0] ?? '';
    const size = (name: string) => {
      const value = Number(new RegExp(`\\s${name}="([\\d.]+)(px)?"`).exec(root)?.[1]);
      return Number.isFinite(value) && value > 0 ? value : undefined;
    };
    const viewBox = /\sviewBox="[\d.-]+[\s,]+[\d.-]+[\s,]+([\d.]+)[\s,]+([\d.]+)"/.exec(root);
    return {
      body,
      width: size('width') ?? Number(viewBox?.[1] ?? 600),
      height: size('height') ?? Number(viewBox?.[2] ?? 400),
    };
  });
  const columnWidths = Array.from({ length: columns }, (_, c) =>
    Math.max(0, ...panels.filter((_, i) => i % columns === c).map((p) => p.width)),
  );
  const rows = Math.ceil(panels.length / columns);
  const rowHeights = Array.from({ length: rows }, (_, r) =>
    Math.max(0, ...panels.slice(r * columns, (r + 1) * columns).map((p) => p.height)),
  );
  const used = columnWidths.filter((w) => w > 0);
  const W = Math.max(1, used.reduce((a, b) => a + b, 0) + gap * Math.max(0, used.length - 1));
  const H = Math.max(1, rowHeights.reduce((a, b) => a + b, 0) + gap * Math.max(0, rows - 1));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${coord(W)}" height="${coord(H)}" viewBox="0 0 ${coord(W)} ${coord(H)}">`,
    `<rect width="${coord(W)}" height="${coord(H)}" fill="#fff"/>`,
  ];
  panels.forEach((panel, i) => {
    const column = i % columns;
    const row = Math.floor(i / columns);
    const x = columnWidths.slice(0, column).reduce((a, b) => a + b + gap, 0);
    const y = rowHeights.slice(0, row).reduce((a, b) => a + b + gap, 0);
    const placed = panel.body
      .replace(/^<svg\b/, `<svg x="${coord(x)}" y="${coord(y)}"`)
      // the outer document sizes the panel: a nested svg needs width and height to be drawn at all
      .replace(/^(<svg\b[^>]*?)(\/?>)/, (_, tag: string, end: string) =>
        / width=/.test(tag) ? tag + end : `${tag} width="${coord(panel.width)}" height="${coord(panel.height)}"${end}`,
      );
    out.push(placed);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Maps lo..hi (on a log scale if asked) to the pixels from..to. */
function scale(lo: number, hi: number, from: number, to: number, log: boolean): (v: number) => number {
  const t = log ? Math.log10 : (v: number) => v;
  const [a, b] = [t(lo), t(hi)];
  return (v) => from + ((t(v) - a) / (b - a || 1)) * (to - from);
}

/** The plot area: room on the left for the y tick labels and the axis title, on the right for the legend. */
function layout(W: number, H: number, yLabels: Array<{ label: string }>, legend: LegendEntry[]): Plot {
  const tickWidth = Math.max(10, ...yLabels.map((t) => textWidth(t.label)));
  const legendWidth = legend.length ? Math.min(W * 0.35, 40 + Math.max(...legend.map((e) => textWidth(e.name)))) : 0;
  return {
    x0: Math.round(28 + tickWidth + 8),
    x1: Math.round(W - (legendWidth ? legendWidth + 20 : 24)),
    y0: 44,
    y1: H - 50,
  };
}

function open(W: number, H: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${coord(W)}" height="${coord(H)}" viewBox="0 0 ${coord(W)} ${coord(H)}" font-family="sans-serif" font-size="${FONT}">`,
    `<rect width="${coord(W)}" height="${coord(H)}" fill="#fff"/>`,
    `<text x="${coord(W / 2)}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
}

function close(out: string[]): string {
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function drawYAxis(out: string[], plot: Plot, ticks: Array<{ at: number; label: string }>, title: string, H: number) {
  for (const t of ticks) {
    const y = coord(t.at);
    out.push(`<line x1="${coord(plot.x0)}" x2="${coord(plot.x1)}" y1="${y}" y2="${y}" stroke="${GRID}"/>`);
    out.push(`<line x1="${coord(plot.x0 - 4)}" x2="${coord(plot.x0)}" y1="${y}" y2="${y}" stroke="${AXIS}"/>`);
    out.push(`<text x="${coord(plot.x0 - 7)}" y="${coord(t.at + 4)}" text-anchor="end">${escapeXml(t.label)}</text>`);
  }
  const middle = coord((plot.y0 + Math.min(plot.y1, H)) / 2);
  out.push(
    `<text transform="translate(16 ${middle}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(title)}</text>`,
  );
  out.push(
    `<line x1="${coord(plot.x0)}" x2="${coord(plot.x0)}" y1="${coord(plot.y0)}" y2="${coord(plot.y1)}" stroke="${AXIS}"/>`,
  );
}

function drawXAxis(out: string[], plot: Plot, title: string) {
  out.push(
    `<line x1="${coord(plot.x0)}" x2="${coord(plot.x1)}" y1="${coord(plot.y1)}" y2="${coord(plot.y1)}" stroke="${AXIS}"/>`,
  );
  if (title) {
    out.push(
      `<text x="${coord((plot.x0 + plot.x1) / 2)}" y="${coord(plot.y1 + 38)}" text-anchor="middle" font-size="12">${escapeXml(title)}</text>`,
    );
  }
}

function drawReferences(out: string[], plot: Plot, lines: Array<ReferenceLine & { at: number }>) {
  for (const r of lines) {
    if (r.at < plot.y0 - 0.5 || r.at > plot.y1 + 0.5) continue;
    const color = r.color ?? REFERENCE;
    const y = coord(r.at);
    out.push(
      `<line x1="${coord(plot.x0)}" x2="${coord(plot.x1)}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="1.2" stroke-dasharray="5 4"/>`,
    );
    out.push(
      `<text x="${coord(plot.x1 - 4)}" y="${coord(r.at - 5)}" text-anchor="end" fill="${color}" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(r.label)}</text>`,
    );
  }
}

function drawLegend(out: string[], plot: Plot, entries: LegendEntry[], W: number) {
  const x = plot.x1 + 14;
  const room = W - (x + 28) - 4;
  let y = plot.y0 + 6;
  for (const e of entries) {
    if (e.kind === 'bar') {
      out.push(`<rect x="${coord(x)}" y="${coord(y - 6)}" width="14" height="12" fill="${e.color}"/>`);
    } else {
      const dash = e.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(
        `<line x1="${coord(x)}" x2="${coord(x + 22)}" y1="${coord(y)}" y2="${coord(y)}" stroke="${e.color}" stroke-width="2"${dash}/>`,
      );
      out.push(`<circle cx="${coord(x + 11)}" cy="${coord(y)}" r="3" fill="${e.color}"/>`);
    }
    const shown = fit(e.name, room);
    // a cut name keeps the whole one as a tooltip
    const tooltip = shown === e.name ? '' : `<title>${escapeXml(e.name)}</title>`;
    out.push(`<text x="${coord(x + 28)}" y="${coord(y + 4)}">${tooltip}${escapeXml(shown)}</text>`);
    y += 18;
  }
}

function noData(out: string[], plot: Plot) {
  out.push(
    `<text x="${coord((plot.x0 + plot.x1) / 2)}" y="${coord((plot.y0 + plot.y1) / 2)}" text-anchor="middle" fill="#999">no data</text>`,
  );
}

/** The text, cut to about `room` pixels with an ellipsis. */
function fit(text: string, room: number): string {
  if (textWidth(text) <= room) return text;
  const chars = Math.max(1, Math.floor(room / textWidth('m')) - 1);
  return `${[...text].slice(0, chars).join('')}…`;
}
