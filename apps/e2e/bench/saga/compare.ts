import {
  describeMachine,
  parseCompareSides,
  renderCompareSides,
  writeReport,
  type CompareMetric,
  type CompareSide as GenericSide,
} from '@shop/testing';
import type { RateRun, SagaReport } from './report';

export type CompareSide = GenericSide<SagaReport>;

interface Metric extends CompareMetric {
  value: (run: RateRun) => number;
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
export function parseSagaCompareSides(specs: string[]): CompareSide[] {
  return parseCompareSides<SagaReport>(specs, (report) =>
    Array.isArray(report?.runs) ? undefined : 'is not a bench:saga report (no runs)',
  );
}

const keyOf = (run: RateRun) => `${run.replicas}x ${run.overload ? `${run.overload.factor}x` : run.offered}`;

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
  const { table, svg } = renderCompareSides({
    groupTitle: 'replicas × offered',
    groups: keys,
    metrics: METRICS,
    sides,
    values: valuesOf,
  });
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
