import {
  barChart,
  describeMachine,
  lineChart,
  markdownTable,
  percentile,
  stackSvgs,
  writeReport,
  type MachineInfo,
  type Series,
} from '@shop/testing';
import type { CpuSnapshot } from './cpu';
import type { Posted } from './load';

export interface RateRun {
  replicas: number;
  /** Offered orders/s, or 'flat' for a closed loop as fast as the system answers. */
  offered: number | 'flat';
  seconds: number;
  /** Orders/s actually sent. */
  sentPerSecond: number;
  accepted: number;
  confirmed: number;
  /** CONFIRMED orders per second, from the first POST to the last confirmation. */
  completedPerSecond: number;
  /** POST /orders sent → the CONFIRMED transaction (orders.updated_at), CONFIRMED orders only. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** POST /orders → its 202. */
  responseMs: { p50: number; p99: number };
  errors: { http: number; cancelled: number; unfinished: number; total: number; samples: string[] };
  /** CPU ms per CONFIRMED order, per process (each app replica, the broker, PostgreSQL, the load generator). */
  cpuMsPerOrder: Record<string, number>;
  /** Transactions committed in the four apps' databases per order. */
  commitsPerOrder: number;
}

export interface SagaReport {
  machine: MachineInfo;
  options: {
    rates: Array<number | 'flat'>;
    seconds: number;
    replicas: number[];
    flatConcurrency: number;
    dbSeconds: number;
  };
  database: { clients: number; transactionsPerSecond: number };
  runs: RateRun[];
}

export function summarizeRun(input: {
  replicas: number;
  rate: number | 'flat';
  seconds: number;
  startedAt: number;
  posted: Posted[];
  rows: Array<{ id: string; status: string; at: number }>;
  unfinished: number;
  cpu: CpuSnapshot;
  commits: number;
}): RateRun {
  const sentAt = new Map(input.posted.flatMap((p) => (p.orderId ? [[p.orderId, p.sentAt] as const] : [])));
  const confirmed = input.rows.filter((row) => row.status === 'CONFIRMED');
  const latencies = confirmed.map((row) => Number(row.at) - (sentAt.get(row.id) ?? NaN)).sort((a, b) => a - b);
  const lastConfirmation = Math.max(...confirmed.map((row) => Number(row.at)));
  const responses = input.posted.map((p) => p.responseMs).sort((a, b) => a - b);
  const failed = input.posted.filter((p) => p.error);
  const cancelled = input.rows.filter((row) => row.status === 'CANCELLED').length;
  const lastSent = Math.max(...input.posted.map((p) => p.sentAt));
  const cpuMsPerOrder: Record<string, number> = {};
  for (const [name, ms] of Object.entries(input.cpu))
    cpuMsPerOrder[name] = confirmed.length ? ms / confirmed.length : NaN;
  return {
    replicas: input.replicas,
    offered: input.rate,
    seconds: input.seconds,
    sentPerSecond: input.posted.length / ((lastSent - input.startedAt) / 1000),
    accepted: input.posted.length - failed.length,
    confirmed: confirmed.length,
    completedPerSecond: confirmed.length ? confirmed.length / ((lastConfirmation - input.startedAt) / 1000) : 0,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? NaN,
    },
    responseMs: { p50: percentile(responses, 50), p99: percentile(responses, 99) },
    errors: {
      http: failed.length,
      cancelled,
      unfinished: input.unfinished,
      total: failed.length + cancelled + input.unfinished,
      samples: [...new Set(failed.map((p) => p.error as string))].slice(0, 5),
    },
    cpuMsPerOrder,
    commitsPerOrder: input.posted.length ? input.commits / (input.posted.length - failed.length) : NaN,
  };
}

export interface Verdict {
  commitsPerOrder: number;
  boundOrdersPerSecond: number;
  best: RateRun;
  ratio: number;
  at100?: RateRun;
  targets: Array<{ name: string; value: string; pass: boolean }>;
}

export function judge(report: SagaReport): Verdict {
  const best = report.runs.reduce((a, b) => (b.completedPerSecond > a.completedPerSecond ? b : a));
  // What an order costs in commits, as measured at the best rate (health checks and idle polls included).
  const commitsPerOrder = best.commitsPerOrder;
  const boundOrdersPerSecond = report.database.transactionsPerSecond / commitsPerOrder;
  const ratio = best.completedPerSecond / boundOrdersPerSecond;
  const at100 = report.runs.find((run) => run.offered === 100 && run.replicas === Math.min(...report.options.replicas));
  const targets = [
    { name: 'best completed rate / database bound >= 0.75', value: ratio.toFixed(2), pass: ratio >= 0.75 },
  ];
  if (at100) {
    targets.push(
      {
        name: 'p50 <= 25 ms at 100 orders/s',
        value: `${at100.latencyMs.p50.toFixed(1)} ms`,
        pass: at100.latencyMs.p50 <= 25,
      },
      {
        name: 'p99 <= 100 ms at 100 orders/s',
        value: `${at100.latencyMs.p99.toFixed(1)} ms`,
        pass: at100.latencyMs.p99 <= 100,
      },
      { name: 'no errors at 100 orders/s', value: String(at100.errors.total), pass: at100.errors.total === 0 },
    );
  }
  return { commitsPerOrder, boundOrdersPerSecond, best, ratio, at100, targets };
}

const offeredLabel = (run: RateRun) => (run.offered === 'flat' ? 'flat out' : `${run.offered}/s`);

function runRows(report: SagaReport): Array<Array<string | number>> {
  return report.runs.map((run) => [
    run.replicas,
    offeredLabel(run),
    run.sentPerSecond.toFixed(1),
    run.completedPerSecond.toFixed(1),
    run.latencyMs.p50.toFixed(1),
    run.latencyMs.p95.toFixed(1),
    run.latencyMs.p99.toFixed(1),
    run.responseMs.p99.toFixed(1),
    run.errors.total,
    run.commitsPerOrder.toFixed(1),
    Object.values(run.cpuMsPerOrder)
      .reduce((a, b) => a + b, 0)
      .toFixed(1),
  ]);
}

const HEADER = [
  'replicas',
  'offered',
  'sent/s',
  'completed/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  '202 p99 ms',
  'errors',
  'commits/order',
  'CPU ms/order',
];
const ALIGN: Array<'l' | 'r'> = ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];

function cpuTable(report: SagaReport): { header: string[]; rows: Array<Array<string | number>> } {
  const names = [...new Set(report.runs.flatMap((run) => Object.keys(run.cpuMsPerOrder)))];
  return {
    header: ['replicas', 'offered', ...names],
    rows: report.runs.map((run) => [
      run.replicas,
      offeredLabel(run),
      ...names.map((name) => (run.cpuMsPerOrder[name] === undefined ? '' : run.cpuMsPerOrder[name].toFixed(2))),
    ]),
  };
}

export function renderSvg(report: SagaReport, verdict: Verdict): string {
  const numeric = report.options.rates.filter((r): r is number => r !== 'flat');
  const flatX = Math.max(...numeric, 100) * 1.25;
  const xOf = (run: RateRun) => (run.offered === 'flat' ? flatX : run.offered);
  const xTicks = [
    ...numeric.map((x) => ({ x, label: String(x) })),
    ...(report.options.rates.includes('flat') ? [{ x: flatX, label: 'flat out' }] : []),
  ];
  const byReplicas = (replicas: number) => report.runs.filter((run) => run.replicas === replicas);
  const throughput: Series[] = report.options.replicas.map((replicas) => ({
    name: `${replicas} replica(s)`,
    points: byReplicas(replicas).map((run) => ({ x: xOf(run), y: run.completedPerSecond })),
  }));
  throughput.push({ name: 'offered', dashed: true, points: numeric.map((x) => ({ x, y: x })) });
  const latency: Series[] = report.options.replicas.flatMap((replicas) => [
    {
      name: `p50, ${replicas} replica(s)`,
      points: byReplicas(replicas).map((run) => ({ x: xOf(run), y: run.latencyMs.p50 })),
    },
    {
      name: `p99, ${replicas} replica(s)`,
      dashed: true,
      points: byReplicas(replicas).map((run) => ({ x: xOf(run), y: run.latencyMs.p99 })),
    },
  ]);
  // CPU per app (its replicas summed), the broker and PostgreSQL, at the rates below saturation and flat out.
  const groupOf = (name: string) => name.replace(/#\d+$/, '');
  const cpuNames = [...new Set(report.runs.flatMap((run) => Object.keys(run.cpuMsPerOrder).map(groupOf)))];
  const cpuRuns = report.runs.filter((run) => run.offered === 'flat' || run.offered <= 100);
  const cpuOf = (run: RateRun, group: string) =>
    Object.entries(run.cpuMsPerOrder)
      .filter(([name]) => groupOf(name) === group)
      .reduce((sum, [, ms]) => sum + ms, 0);
  return stackSvgs(
    [
      lineChart({
        title: 'Completed orders/s against offered load',
        xLabel: 'offered orders/s',
        yLabel: 'CONFIRMED orders/s',
        series: throughput,
        xTicks,
        yMin: 0,
        referenceLines: [
          { y: verdict.boundOrdersPerSecond, label: `database bound ${verdict.boundOrdersPerSecond.toFixed(0)}/s` },
          { y: verdict.boundOrdersPerSecond * 0.75, label: 'target: 0.75 x bound' },
        ],
      }),
      lineChart({
        title: 'POST /orders → CONFIRMED latency',
        xLabel: 'offered orders/s',
        yLabel: 'ms (log scale)',
        series: latency,
        xTicks,
        logY: true,
        referenceLines: [
          { y: 25, label: 'p50 target 25 ms' },
          { y: 100, label: 'p99 target 100 ms' },
        ],
      }),
      barChart({
        title: 'CPU per CONFIRMED order, by process (replicas summed)',
        yLabel: 'CPU ms per order',
        groups: cpuRuns.map((run) => `${run.replicas}x ${offeredLabel(run)}`),
        series: cpuNames.map((name) => ({ name, values: cpuRuns.map((run) => cpuOf(run, name)) })),
      }),
    ],
    { columns: 1 },
  );
}

export function renderMarkdown(report: SagaReport, verdict: Verdict, svgFile: string): string {
  const cpu = cpuTable(report);
  const lines = [
    '# bench:saga: the order saga end to end',
    '',
    `Taken ${report.machine.date} on ${describeMachine(report.machine)}, with \`npm run bench:saga\`.`,
    '',
    `![completed orders/s, latency and CPU per order against offered load](${svgFile})`,
    '',
    '## Targets',
    '',
    markdownTable(
      ['target', 'measured', 'result'],
      verdict.targets.map((t) => [t.name, t.value, t.pass ? 'PASS' : 'FAIL']),
    ),
    '',
    '## Database bound',
    '',
    `${report.database.clients} clients committing one business row and one outbox row per transaction: ` +
      `**${Math.round(report.database.transactionsPerSecond)} transactions/s**. An order costs ` +
      `**${verdict.commitsPerOrder.toFixed(1)} commits** in the four apps' databases (measured at the best rate, ` +
      `pg_stat_database), so the database alone bounds the saga at **${verdict.boundOrdersPerSecond.toFixed(0)} orders/s**. ` +
      `Best measured: ${verdict.best.completedPerSecond.toFixed(1)} orders/s (${verdict.best.replicas} replica(s), ` +
      `${offeredLabel(verdict.best)}): **${verdict.ratio.toFixed(2)} x the bound**.`,
    '',
    '## Per offered rate',
    '',
    markdownTable(HEADER, runRows(report), ALIGN),
    '',
    '## CPU ms per CONFIRMED order, by process',
    '',
    markdownTable(cpu.header, cpu.rows),
    '',
    '## Method',
    '',
    `- The four built apps as real processes on a fresh vhost and fresh databases (\`startSystem\` of apps/e2e), ` +
      `${report.options.replicas.join(' then ')} replica(s) of each app; one sku with ample stock; a 3 s warm-up.`,
    `- Each rate for ${report.options.seconds} s with open-loop pacing (request i sent at i / rate, answered or not); ` +
      `"flat out" is ${report.options.flatConcurrency} clients each posting again as soon as answered.`,
    '- Latency: from sending POST /orders to the start of the transaction that set the order CONFIRMED ' +
      '(`orders.updated_at`, same machine clock), read from the orders database after the run, so that measuring ' +
      'adds no load. completed/s: CONFIRMED orders from the first POST to the last confirmation.',
    '- Errors: non-202 answers, orders CANCELLED, orders not final within the drain time.',
    '- CPU: /proc/<pid>/stat of each app process, of RabbitMQ (beam.smp) and of all PostgreSQL processes, ' +
      'from the first POST until every order was final, divided by the CONFIRMED orders.',
  ];
  return lines.join('\n');
}

export async function renderReport(report: SagaReport, dir: string): Promise<{ table: string; files: string[] }> {
  const verdict = judge(report);
  const table = [
    markdownTable(HEADER, runRows(report), ALIGN),
    '',
    `database bound: ${Math.round(report.database.transactionsPerSecond)} tx/s / ${verdict.commitsPerOrder.toFixed(1)} commits per order = ${verdict.boundOrdersPerSecond.toFixed(0)} orders/s; ` +
      `best ${verdict.best.completedPerSecond.toFixed(1)} orders/s = ${verdict.ratio.toFixed(2)} x`,
    ...verdict.targets.map((t) => `${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.value}`),
  ].join('\n');
  const files = await writeReport({
    dir,
    name: 'bench-saga',
    json: { ...report, verdict: { ...verdict, best: undefined, at100: undefined } },
    markdown: renderMarkdown(report, verdict, 'bench-saga.svg'),
    svg: renderSvg(report, verdict),
  });
  return { table, files };
}
