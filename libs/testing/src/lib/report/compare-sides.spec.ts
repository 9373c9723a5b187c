import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSpread, medianOf, parseCompareSides, renderCompareSides } from './compare-sides';

interface Report {
  runs: number[];
}
const check = (report: Report) => (Array.isArray(report?.runs) ? undefined : 'is not a test report (no runs)');

describe('parseCompareSides', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compare-sides-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it("reads each side's label and reports, in order", () => {
    const a = file('a.json', '{"runs":[1]}');
    const b = file('b.json', '{"runs":[2]}');
    const c = file('c.json', '{"runs":[3]}');
    expect(parseCompareSides<Report>([`before (abc)=${a},${b}`, `after=${c}`], check)).toEqual([
      { label: 'before (abc)', reports: [{ runs: [1] }, { runs: [2] }] },
      { label: 'after', reports: [{ runs: [3] }] },
    ]);
  });

  it('says what is wrong: one side, no label or files, unreadable or foreign reports', () => {
    const ok = file('ok.json', '{"runs":[]}');
    expect(() => parseCompareSides<Report>([`a=${ok}`], check)).toThrow('--compare needs two sides');
    expect(() => parseCompareSides<Report>([`=${ok}`, `b=${ok}`], check)).toThrow('expected label=report.json');
    expect(() => parseCompareSides<Report>([`a=${ok}`, 'b='], check)).toThrow('expected label=report.json');
    expect(() => parseCompareSides<Report>([`a=${ok}`, `b=${join(dir, 'missing.json')}`], check)).toThrow(
      /cannot read .*missing\.json/,
    );
    const foreign = file('foreign.json', '{"rows":[]}');
    expect(() => parseCompareSides<Report>([`a=${ok}`, `b=${foreign}`], check)).toThrow(
      'foreign.json is not a test report (no runs)',
    );
  });
});

describe('medianOf and formatSpread', () => {
  it('take the median of the finite values (the middle two averaged) and their range', () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 3, 2])).toBe(2.5);
    expect(medianOf([NaN, 5])).toBe(5);
    expect(medianOf([])).toBeNaN();
    expect(formatSpread([1.234, 2.5, 0.5], 1)).toBe('1.2 (0.5–2.5)');
    expect(formatSpread([7], 2)).toBe('7.00');
    expect(formatSpread([NaN], 1)).toBe('n/a');
  });
});

describe('renderCompareSides', () => {
  it("tabulates each side's median and range per group and metric, and charts them with the target", () => {
    const sides = [
      { label: 'before', reports: [{ runs: [10, 12] }, { runs: [11, 30] }] },
      { label: 'after', reports: [{ runs: [5, 6] }] },
    ];
    const { table, svg } = renderCompareSides({
      groupTitle: 'queue',
      groups: ['classic'],
      metrics: [{ title: 'CPU per message', unit: 'µs', digits: 1, target: { y: 8, label: 'target <= 8' } }],
      sides,
      values: (side) => side.reports.flatMap((report) => report.runs),
    });
    const cells = table.split('\n').map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
    expect(cells[0]).toEqual(['queue', 'metric', 'before (2 runs)', 'after (1 runs)']);
    expect(cells.slice(2)).toEqual([['classic', 'CPU per message (µs)', '11.5 (10.0–30.0)', '5.5 (5.0–6.0)']]);
    expect(svg).toContain('CPU per message');
    expect(svg).toContain('target &lt;= 8');
  });
});
