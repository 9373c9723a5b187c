import { readFileSync } from 'node:fs';
import { barChart, describeMachine, markdownTable, stackSvgs, writeReport } from '@shop/testing';
import type { RateRun, SagaReport } from './report';

/** One side of a comparison: a label and the reports of its runs (alternated with the other side's). */
export interface CompareSide {
  label: string;
  reports: SagaReport[];
}

interface Metric {
  title: string;
  unit: string;
  value: (run: RateRun) => number;
  digits: number;
}

const METRICS: Metric[] = [
  { title: 'Writes per CONFIRMED order', unit: 'write transactions', value: (run) => run.writesPerOrder, digits: 1 },
  { title: 'CPU per CONFIRMED order, all processes', unit: 'CPU ms', value: (run) => run.cpuPerOrder.total, digits: 1 },
  { title: 'Completed orders/s', unit: 'orders/s', value: (run) => run.completedPerSecond, digits: 1 },
  { title: 'POST → CONFIRMED p99', unit: 'ms', value: (run) => run.latencyMs.p99, digits: 0 },
];

/**
 * `--compare label=a.json,b.json --compare label=c.json,d.json`: the same benchmark at two builds (or
 * settings), run alternately in one session so that the machine's drift falls on both. Per replica
 * count and offered rate, the median of each side's runs and its range, in a table and bar charts.
 */
export function parseCompareSides(specs: string[]): CompareSide[] {
  if (specs.length < 2)
    throw new Error('--compare needs two sides: --compare before=a.json,b.json --compare after=...');
  return specs.map((spec) => {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1)
      throw new Error(`--compare: expected label=report.json[,...] (got "${spec}")`);
    const files = spec
      .slice(at + 1)
      .split(',')
      .map((file) => file.trim())
      .filter(Boolean);
    return { label: spec.slice(0, at), reports: files.map((file) => readReport(file)) };
  });
}

function readReport(file: string): SagaReport {
  let report: SagaReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as SagaReport;
  } catch (error) {
    throw new Error(`--compare: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!Array.isArray(report?.runs)) throw new Error(`--compare: ${file} is not a bench:saga report (no runs)`);
  return report;
}

const keyOf = (run: RateRun) => `${run.replicas}x ${run.overload ? `${run.overload.factor}x` : run.offered}`;

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function renderComparison(
  sides: CompareSide[],
  dir: string,
  name: string,
): Promise<{ table: string; files: string[] }> {
  // The rows every side measured, in the order of the first side's first report.
  const keys = [...new Set(sides[0].reports.flatMap((report) => report.runs.map(keyOf)))].filter((key) =>
    sides.every((side) => side.reports.some((report) => report.runs.some((run) => keyOf(run) === key))),
  );
  const valuesOf = (side: CompareSide, key: string, metric: Metric) =>
    side.reports.flatMap((report) => report.runs.filter((run) => keyOf(run) === key).map(metric.value));
  const format = (values: number[], digits: number) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return 'n/a';
    const [low, high] = [Math.min(...finite), Math.max(...finite)];
    return finite.length > 1
      ? `${median(finite).toFixed(digits)} (${low.toFixed(digits)}–${high.toFixed(digits)})`
      : median(finite).toFixed(digits);
  };
  const header = [
    'replicas × offered',
    'metric',
    ...sides.map((side) => `${side.label} (${side.reports.length} runs)`),
  ];
  const rows = keys.flatMap((key) =>
    METRICS.map((metric) => [
      key,
      metric.title,
      ...sides.map((side) => format(valuesOf(side, key, metric), metric.digits)),
    ]),
  );
  const table = markdownTable(header, rows);
  const svg = stackSvgs(
    METRICS.map((metric) =>
      barChart({
        title: metric.title,
        yLabel: metric.unit,
        groups: keys,
        series: sides.map((side) => {
          const per = keys.map((key) => valuesOf(side, key, metric));
          return {
            name: side.label,
            values: per.map(median),
            low: per.map((values) => Math.min(...values)),
            high: per.map((values) => Math.max(...values)),
          };
        }),
        width: 520,
        height: 320,
      }),
    ),
    { columns: 2 },
  );
  const machine = sides[0].reports[0].machine;
  const markdown = [
    `# bench:saga compared: ${sides.map((side) => side.label).join(' against ')}`,
    '',
    `On ${describeMachine(machine)}. Each side's runs alternated with the other's in one session, so that the ` +
      `machine's drift falls on both; medians of each side's runs, their range in brackets (bars: median, ` +
      `whiskers: range).`,
    '',
    `![${sides.map((side) => side.label).join(' against ')}](${name}.svg)`,
    '',
    table,
    '',
    '- Writes: transactions assigned a transaction id per CONFIRMED order; CPU: every process but the load ' +
      'generator (apps, RabbitMQ, PostgreSQL backends) per CONFIRMED order; p99: POST /orders sent → CONFIRMED.',
  ].join('\n');
  const files = await writeReport({ dir, name, json: { sides }, markdown, svg });
  return { table, files };
}
