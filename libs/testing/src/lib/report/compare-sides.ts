import { readFileSync } from 'node:fs';
import { barChart, stackSvgs, type ReferenceLine } from './charts';
import { markdownTable } from './markdown';

/** One side of a comparison: a label and the reports of its runs (alternated with the other side's). */
export interface CompareSide<R> {
  label: string;
  reports: R[];
}

/**
 * The sides of a benchmark's `--compare label=a.json,b.json --compare label=c.json,d.json`: the same
 * benchmark at two builds (or settings), run alternately in one session so that the machine's drift
 * falls on both. `check` says what is wrong with a file that is JSON but not this benchmark's report.
 */
export function parseCompareSides<R>(
  specs: readonly string[],
  check: (report: R) => string | undefined,
): Array<CompareSide<R>> {
  if (specs.length < 2)
    throw new Error('--compare needs two sides: --compare before=a.json,b.json --compare after=c.json,d.json');
  return specs.map((spec) => {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1)
      throw new Error(`--compare: expected label=report.json[,...] (got "${spec}")`);
    const files = spec
      .slice(at + 1)
      .split(',')
      .map((file) => file.trim())
      .filter(Boolean);
    return { label: spec.slice(0, at), reports: files.map((file) => readReport(file, check)) };
  });
}

function readReport<R>(file: string, check: (report: R) => string | undefined): R {
  let report: R;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as R;
  } catch (error) {
    throw new Error(`--compare: cannot read ${file}: ${(error as Error).message}`);
  }
  const wrong = check(report);
  if (wrong) throw new Error(`--compare: ${file} ${wrong}`);
  return report;
}

/** The median of the finite values (the mean of the middle two for an even count); NaN when none. */
export function medianOf(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "median (min–max)" of a side's runs, the median alone for one run, "n/a" for none. */
export function formatSpread(values: readonly number[], digits: number): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 'n/a';
  const [low, high] = [Math.min(...finite), Math.max(...finite)];
  return finite.length > 1
    ? `${medianOf(finite).toFixed(digits)} (${low.toFixed(digits)}–${high.toFixed(digits)})`
    : medianOf(finite).toFixed(digits);
}

/** What a comparison shows of each side: one row per group in its table, one bar chart. */
export interface CompareMetric {
  title: string;
  unit: string;
  digits: number;
  /** A target drawn across its chart. */
  target?: ReferenceLine;
}

/**
 * A comparison's table (per group and metric, each side's median and range) and its charts (per
 * metric, each side's median as a bar and its range as a whisker, per group).
 */
export function renderCompareSides<R, M extends CompareMetric>(options: {
  /** The table's first column: what a group is ("queue", "replicas × offered"). */
  groupTitle: string;
  groups: string[];
  metrics: readonly M[];
  sides: ReadonlyArray<CompareSide<R>>;
  /** The values of one side's runs in one group. */
  values: (side: CompareSide<R>, group: string, metric: M) => number[];
  /** A side's column head; by default its label and its number of runs. */
  sideHeader?: (side: CompareSide<R>) => string;
}): { table: string; svg: string } {
  const { groups, metrics, sides, values } = options;
  const header = [
    options.groupTitle,
    'metric',
    ...sides.map(options.sideHeader ?? ((side) => `${side.label} (${side.reports.length} runs)`)),
  ];
  const rows = groups.flatMap((group) =>
    metrics.map((metric) => [
      group,
      `${metric.title} (${metric.unit})`,
      ...sides.map((side) => formatSpread(values(side, group, metric), metric.digits)),
    ]),
  );
  const charts = metrics.map((metric) =>
    barChart({
      title: metric.title,
      yLabel: metric.unit,
      groups,
      series: sides.map((side) => {
        const per = groups.map((group) => values(side, group, metric));
        return {
          name: side.label,
          values: per.map(medianOf),
          low: per.map((group) => Math.min(...group)),
          high: per.map((group) => Math.max(...group)),
        };
      }),
      referenceLines: metric.target ? [metric.target] : [],
      width: 520,
      height: 320,
    }),
  );
  return { table: markdownTable(header, rows), svg: stackSvgs(charts, { columns: 2 }) };
}
