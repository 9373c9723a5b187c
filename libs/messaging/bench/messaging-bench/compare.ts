/**
 * `npm run bench:messaging -- --compare before=a.json,b.json --compare after=c.json,d.json`: the reports
 * of two builds' runs, alternated in one session so that the machine's drift falls on both. Per queue
 * type, the library's throughput and CPU per message on either side as ratios to raw amqplib in the
 * same round (what issue 20's targets are stated in, and what drifts least), with the library's own
 * µs per message: medians over every round of each side's reports, ranges in brackets; a table and
 * bar charts with the targets drawn.
 */
import {
  describeMachine,
  parseCompareSides,
  renderCompareSides,
  writeReport,
  type CompareMetric,
  type CompareSide,
  type MachineInfo,
} from '@shop/testing';
import type { QueueType } from './protocol';
import type { RunRecord } from './run';
import { TARGETS } from './summary';

/** What of a bench:messaging report a comparison reads. */
export interface MessagingReport {
  machine: MachineInfo;
  runs: RunRecord[];
}

interface Metric extends CompareMetric {
  /** The library's value in one round, given raw's run of that round. */
  value: (library: RunRecord, raw: RunRecord) => number | undefined;
}

const METRICS: Metric[] = [
  {
    title: 'Library throughput / raw amqplib',
    unit: 'x raw',
    value: (library, raw) => ratio(library.e2eRate, raw.e2eRate),
    digits: 2,
    target: { y: TARGETS.throughputRatio, label: `target >= ${TARGETS.throughputRatio}x` },
  },
  {
    title: 'Library publisher CPU per message / raw',
    unit: 'x raw',
    value: (library, raw) => ratio(library.publisherCpuUsPerMsg, raw.publisherCpuUsPerMsg),
    digits: 2,
    target: { y: TARGETS.cpuRatio, label: `target <= ${TARGETS.cpuRatio}x` },
  },
  {
    title: 'Library consumer CPU per message / raw',
    unit: 'x raw',
    value: (library, raw) => ratio(library.consumerCpuUsPerMsg, raw.consumerCpuUsPerMsg),
    digits: 2,
    target: { y: TARGETS.cpuRatio, label: `target <= ${TARGETS.cpuRatio}x` },
  },
  {
    title: 'Library publisher CPU per message',
    unit: 'µs',
    value: (library) => library.publisherCpuUsPerMsg,
    digits: 1,
  },
  {
    title: 'Library consumer CPU per message',
    unit: 'µs',
    value: (library) => library.consumerCpuUsPerMsg,
    digits: 1,
  },
];

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

export function parseMessagingCompareSides(specs: string[]): Array<CompareSide<MessagingReport>> {
  return parseCompareSides<MessagingReport>(specs, (report) =>
    Array.isArray(report?.runs) ? undefined : 'is not a bench:messaging report (no runs)',
  );
}

/** The library's value of `metric` in every round of every report of `side` on `queueType`. */
function valuesOf(side: CompareSide<MessagingReport>, queueType: QueueType, metric: Metric): number[] {
  return side.reports.flatMap((report) => {
    const throughput = report.runs.filter(
      (run) => run.ok && run.kind === 'throughput' && !run.large && run.queueType === queueType,
    );
    return throughput
      .filter((run) => run.client === 'library')
      .flatMap((library) => {
        const raw = throughput.find((run) => run.client === 'raw' && run.round === library.round);
        const value = raw && metric.value(library, raw);
        return value === undefined ? [] : [value];
      });
  });
}

export async function renderMessagingComparison(
  sides: Array<CompareSide<MessagingReport>>,
  dir: string,
  name: string,
): Promise<{ table: string; files: string[] }> {
  const queueTypes = (['classic', 'quorum'] as const).filter((queueType) =>
    sides.every((side) => METRICS.some((metric) => valuesOf(side, queueType, metric).length > 0)),
  );
  if (queueTypes.length === 0) throw new Error('--compare: no round of the library and raw amqplib on both sides');
  const rounds = (side: CompareSide<MessagingReport>) => valuesOf(side, queueTypes[0], METRICS[0]).length;
  const { table, svg } = renderCompareSides({
    groupTitle: 'queue',
    groups: [...queueTypes],
    metrics: METRICS,
    sides,
    values: (side, queueType, metric) => valuesOf(side, queueType as QueueType, metric),
    sideHeader: (side) => `${side.label} (${rounds(side)} rounds)`,
  });
  const labels = sides.map((side) => side.label).join(' against ');
  const markdown = [
    `# bench:messaging compared: ${labels}`,
    '',
    `On ${describeMachine(sides[0].reports[0].machine)}. Each side's runs alternated with the other's in one ` +
      `session, so that the machine's drift falls on both. Ratios are the library's figure over raw amqplib's ` +
      `in the same round; medians over each side's rounds, their range in brackets (bars: median, whiskers: range).`,
    '',
    `![${labels}](${name}.svg)`,
    '',
    table,
  ].join('\n');
  const files = await writeReport({ dir, name, json: { sides }, markdown, svg });
  return { table, files };
}
