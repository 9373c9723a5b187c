import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  PALETTE,
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
import { LOAD_GENERATOR, type CpuUsage } from './cpu';
import type { Posted } from './load';

export interface RateRun {
  replicas: number;
  /** Offered orders/s, or 'flat' for a closed loop as fast as the system answers. */
  offered: number | 'flat';
  /**
   * An overload row: offered = round(factor x capacity), where capacity is the best completed/s of this
   * replica count's runs before it.
   */
  overload?: { factor: number; capacity: number };
  seconds: number;
  /** POSTs sent, and per second from the first to the last. */
  sent: number;
  sentPerSecond: number;
  /** Answers 202 with an order id, and per second over the same interval as sentPerSecond. */
  accepted: number;
  acceptedPerSecond: number;
  /** Answers by kind: 202 with an order id, 503 (refused), anything else (other status, none at all). */
  answers: { accepted: number; refused: number; other: number };
  /** Answers by HTTP status (0: none came: connection error or timeout). */
  statuses: Record<string, number>;
  /** 503 answers / POSTs sent. */
  refusedShare: number;
  /** 503 answers without a Retry-After header. */
  refusedWithoutRetryAfter: number;
  /** POST /orders → its 503 (how fast a refusal comes), NaN when there was none. */
  refusedResponseMs: { p50: number; p99: number };
  /** 5xx answers other than 503. */
  otherServerErrors: number;
  confirmed: number;
  /** CONFIRMED orders per second, from the first POST to the last confirmation. */
  completedPerSecond: number;
  /** POST /orders sent → the CONFIRMED transaction (orders.updated_at), CONFIRMED orders only. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** POST /orders → its 202. */
  responseMs: { p50: number; p99: number };
  /** Errors: answers neither 202 nor 503, orders CANCELLED, orders not final within the drain time. */
  errors: { http: number; cancelled: number; unfinished: number; total: number; samples: string[] };
  /** CPU ms per CONFIRMED order, per process (each app replica, the broker, PostgreSQL, the load generator). */
  cpuMsPerOrder: Record<string, number>;
  /**
   * CPU ms per CONFIRMED order: `total` of the processes above but the load generator, the machine's
   * busy CPU (`machine`) and what no process above used (`other` = machine - all of them).
   */
  cpuPerOrder: { total: number; machine: number; other: number };
  /** Transactions committed in the four apps' databases (xact_commit, read-only ones too) per accepted order. */
  commitsPerOrder: number;
  /** Transactions assigned a transaction id (the cluster's next xid grew by that many) per CONFIRMED order. */
  writesPerOrder: number;
}

export interface SagaReport {
  machine: MachineInfo;
  options: {
    rates: Array<number | 'flat'>;
    seconds: number;
    replicas: number[];
    flatConcurrency: number;
    dbSeconds: number;
    drainSeconds: number;
    /** Overload factors: after the rates of a replica count, open loop at factor x its best completed/s. */
    overload: number[];
  };
  /** What `clients` connections commit of write transactions (a business row and an outbox row each). */
  database: { clients: number; transactionsPerSecond: number };
  runs: RateRun[];
}

export function summarizeRun(input: {
  replicas: number;
  rate: number | 'flat';
  overload?: { factor: number; capacity: number };
  seconds: number;
  startedAt: number;
  posted: Posted[];
  rows: Array<{ id: string; status: string; at: number }>;
  unfinished: number;
  cpu: CpuUsage;
  commits: number;
  writes: number;
}): RateRun {
  const sentAt = new Map(input.posted.flatMap((p) => (p.orderId ? [[p.orderId, p.sentAt] as const] : [])));
  const confirmed = input.rows.filter((row) => row.status === 'CONFIRMED');
  const latencies = confirmed.map((row) => Number(row.at) - (sentAt.get(row.id) ?? NaN)).sort((a, b) => a - b);
  const lastConfirmation = Math.max(...confirmed.map((row) => Number(row.at)));
  const accepted = input.posted.filter((p) => p.orderId);
  const refused = input.posted.filter((p) => p.status === 503);
  const failed = input.posted.filter((p) => p.error);
  const sorted = (posted: Posted[]) => posted.map((p) => p.responseMs).sort((a, b) => a - b);
  const responses = sorted(accepted);
  const refusals = sorted(refused);
  const statuses: Record<string, number> = {};
  for (const p of input.posted) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
  const cancelled = input.rows.filter((row) => row.status === 'CANCELLED').length;
  const lastSent = Math.max(...input.posted.map((p) => p.sentAt));
  const sendingSeconds = (lastSent - input.startedAt) / 1000;
  const perConfirmed = (value: number) => (confirmed.length ? value / confirmed.length : NaN);
  const cpuMsPerOrder: Record<string, number> = {};
  for (const [name, ms] of Object.entries(input.cpu.groups)) cpuMsPerOrder[name] = perConfirmed(ms);
  const named = Object.values(input.cpu.groups).reduce((a, b) => a + b, 0);
  return {
    replicas: input.replicas,
    offered: input.rate,
    ...(input.overload && { overload: input.overload }),
    seconds: input.seconds,
    sent: input.posted.length,
    sentPerSecond: input.posted.length / sendingSeconds,
    accepted: accepted.length,
    acceptedPerSecond: accepted.length / sendingSeconds,
    answers: {
      accepted: accepted.length,
      refused: refused.length,
      other: input.posted.length - accepted.length - refused.length,
    },
    statuses,
    refusedShare: input.posted.length ? refused.length / input.posted.length : NaN,
    refusedWithoutRetryAfter: refused.filter((p) => p.retryAfter === undefined || p.retryAfter.trim() === '').length,
    refusedResponseMs: { p50: percentile(refusals, 50), p99: percentile(refusals, 99) },
    otherServerErrors: input.posted.filter((p) => p.status >= 500 && p.status <= 599 && p.status !== 503).length,
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
    cpuPerOrder: {
      total: perConfirmed(named - (input.cpu.groups[LOAD_GENERATOR] ?? 0)),
      machine: perConfirmed(input.cpu.machineTotal),
      other: perConfirmed(input.cpu.machineTotal - named),
    },
    commitsPerOrder: accepted.length ? input.commits / accepted.length : NaN,
    writesPerOrder: perConfirmed(input.writes),
  };
}

export interface Target {
  name: string;
  value: string;
  /** null: not measured in this run (e.g. no overload rows). */
  pass: boolean | null;
}

export interface Verdict {
  /** The run with the best completed/s, over all runs. */
  best: RateRun;
  /** Write transactions (assigned an xid) per CONFIRMED order at the best rate. */
  writesPerOrder: number;
  /** The database bound: database transactions/s / writes per order. */
  boundOrdersPerSecond: number;
  /** All committed transactions (read-only ones included) per order at the best rate. */
  commitsPerOrder: number;
  /** The former bound: database transactions/s / all committed transactions per order. */
  xactBoundOrdersPerSecond: number;
  /** best completed/s / boundOrdersPerSecond. */
  ratio: number;
  /** Capacity of each replica count: its best completed/s at the rates below overload (what 2x and 4x are of). */
  peaks: Record<string, number>;
  targets: Target[];
}

export const TARGETS = {
  boundRatio: 0.75,
  cpuMsPerOrder: 12,
  writesPerOrder: 8,
  overloadShareOfPeak: 0.9,
  overloadP99Ms: 1000,
  unloadedRate: 10,
  unloadedP50Ms: 20,
  unloadedP99Ms: 60,
};

export function judge(report: SagaReport): Verdict {
  const best = report.runs.reduce((a, b) => (b.completedPerSecond > a.completedPerSecond ? b : a));
  const tps = report.database.transactionsPerSecond;
  // What an order costs the database, as measured at the best rate.
  const writesPerOrder = best.writesPerOrder;
  const boundOrdersPerSecond = tps / writesPerOrder;
  const commitsPerOrder = best.commitsPerOrder;
  const xactBoundOrdersPerSecond = tps / commitsPerOrder;
  const ratio = best.completedPerSecond / boundOrdersPerSecond;
  const peaks: Record<string, number> = {};
  for (const run of report.runs) {
    if (!run.overload) peaks[run.replicas] = Math.max(peaks[run.replicas] ?? 0, run.completedPerSecond);
  }

  const targets: Target[] = [
    {
      name: `best completed/s / database bound >= ${TARGETS.boundRatio}`,
      value: `${fixed(best.completedPerSecond, 1)} / ${fixed(boundOrdersPerSecond, 0)} = ${fixed(ratio, 2)}`,
      pass: atLeast(ratio, TARGETS.boundRatio),
    },
    {
      name: `CPU per confirmed order, all processes, at the best rate <= ${TARGETS.cpuMsPerOrder} ms`,
      value: `${fixed(best.cpuPerOrder.total, 1)} ms (${runLabel(best)}; machine total ${fixed(best.cpuPerOrder.machine, 1)} ms)`,
      pass: atMost(best.cpuPerOrder.total, TARGETS.cpuMsPerOrder),
    },
    {
      name: `writes per confirmed order at the best rate <= ${TARGETS.writesPerOrder}`,
      value: `${fixed(writesPerOrder, 1)} (${runLabel(best)})`,
      pass: atMost(writesPerOrder, TARGETS.writesPerOrder),
    },
  ];

  const overloaded = report.runs.filter((run) => run.overload?.factor === 2 || run.overload?.factor === 4);
  const overloadTarget = (name: string, value: (run: RateRun) => string, pass: (run: RateRun) => boolean): Target =>
    overloaded.length
      ? {
          name: `under 2x and 4x: ${name}`,
          value: overloaded.map((run) => `${runLabel(run)}: ${value(run)}`).join('; '),
          pass: overloaded.every(pass),
        }
      : { name: `under 2x and 4x: ${name}`, value: 'not measured', pass: null };
  const shareOfPeak = (run: RateRun) => run.completedPerSecond / (peaks[run.replicas] ?? NaN);
  targets.push(
    overloadTarget(
      `completed/s >= ${TARGETS.overloadShareOfPeak} x peak`,
      (run) => `${fixed(shareOfPeak(run), 2)} x`,
      (run) => atLeast(shareOfPeak(run), TARGETS.overloadShareOfPeak),
    ),
    overloadTarget(
      'no 5xx but 503, every 503 with Retry-After',
      (run) => `${run.otherServerErrors} other 5xx, ${run.refusedWithoutRetryAfter}/${run.answers.refused} 503 without`,
      (run) => run.otherServerErrors === 0 && run.refusedWithoutRetryAfter === 0,
    ),
    overloadTarget(
      `p99 accepted POST → CONFIRMED <= ${TARGETS.overloadP99Ms} ms`,
      (run) => `${fixed(run.latencyMs.p99, 0)} ms`,
      (run) => atMost(run.latencyMs.p99, TARGETS.overloadP99Ms),
    ),
  );

  const unloaded = report.runs.find(
    (run) =>
      run.offered === TARGETS.unloadedRate && !run.overload && run.replicas === Math.min(...report.options.replicas),
  );
  const unloadedName = `unloaded ${TARGETS.unloadedRate} orders/s: p50 <= ${TARGETS.unloadedP50Ms} ms and p99 <= ${TARGETS.unloadedP99Ms} ms (POST → CONFIRMED)`;
  targets.push(
    unloaded
      ? {
          name: unloadedName,
          value: `p50 ${fixed(unloaded.latencyMs.p50, 1)} ms, p99 ${fixed(unloaded.latencyMs.p99, 1)} ms (${unloaded.replicas} replica(s))`,
          pass:
            atMost(unloaded.latencyMs.p50, TARGETS.unloadedP50Ms) &&
            atMost(unloaded.latencyMs.p99, TARGETS.unloadedP99Ms),
        }
      : { name: unloadedName, value: 'not measured', pass: null },
  );
  return {
    best,
    writesPerOrder,
    boundOrdersPerSecond,
    commitsPerOrder,
    xactBoundOrdersPerSecond,
    ratio,
    peaks,
    targets,
  };
}

/** Whether a measured value (NaN, or null in a re-read JSON, when not measured) is at most / at least a target. */
const atMost = (value: number, target: number) => Number.isFinite(value) && value <= target;
const atLeast = (value: number, target: number) => Number.isFinite(value) && value >= target;

/** A number with `digits` decimals, or '-' when it is not a finite number. */
function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function percent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : '-';
}

const offeredLabel = (run: RateRun) =>
  run.offered === 'flat'
    ? 'flat out'
    : run.overload
      ? `${run.overload.factor}x (=${run.offered}/s)`
      : `${run.offered}/s`;

const runLabel = (run: RateRun) => `${run.replicas} replica(s), ${offeredLabel(run)}`;

const verdictText = (pass: boolean | null) => (pass === null ? 'n/a' : pass ? 'PASS' : 'FAIL');

function runRows(report: SagaReport): Array<Array<string | number>> {
  return report.runs.map((run) => [
    run.replicas,
    offeredLabel(run),
    fixed(run.sentPerSecond, 1),
    fixed(run.acceptedPerSecond, 1),
    percent(run.refusedShare),
    fixed(run.completedPerSecond, 1),
    fixed(run.latencyMs.p50, 1),
    fixed(run.latencyMs.p95, 1),
    fixed(run.latencyMs.p99, 1),
    fixed(run.responseMs.p99, 1),
    run.errors.total,
    fixed(run.commitsPerOrder, 1),
    fixed(run.writesPerOrder, 1),
    fixed(run.cpuPerOrder.total, 1),
  ]);
}

const HEADER = [
  'replicas',
  'offered',
  'sent/s',
  'accepted/s',
  'refused',
  'completed/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  '202 p99 ms',
  'errors',
  'transactions/order',
  'writes/order',
  'CPU ms/order',
];
const ALIGN: Array<'l' | 'r'> = ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];

const OVERLOAD_HEADER = [
  'replicas',
  'offered',
  'sent/s',
  'accepted/s',
  'refused',
  '503 p99 ms',
  '503 w/o Retry-After',
  'completed/s',
  'completed / peak',
  'accepted p50 ms',
  'accepted p99 ms',
  'other 5xx',
];
const OVERLOAD_ALIGN: Array<'l' | 'r'> = ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];

function overloadRows(report: SagaReport, verdict: Verdict): Array<Array<string | number>> {
  return report.runs
    .filter((run) => run.overload)
    .map((run) => [
      run.replicas,
      offeredLabel(run),
      fixed(run.sentPerSecond, 1),
      fixed(run.acceptedPerSecond, 1),
      percent(run.refusedShare),
      fixed(run.refusedResponseMs.p99, 1),
      run.refusedWithoutRetryAfter,
      fixed(run.completedPerSecond, 1),
      fixed(run.completedPerSecond / (verdict.peaks[run.replicas] ?? NaN), 2),
      fixed(run.latencyMs.p50, 1),
      fixed(run.latencyMs.p99, 1),
      run.otherServerErrors,
    ]);
}

function cpuTable(report: SagaReport): { header: string[]; rows: Array<Array<string | number>> } {
  const names = [...new Set(report.runs.flatMap((run) => Object.keys(run.cpuMsPerOrder)))];
  const ms = (value: number | undefined) => (value === undefined ? '' : fixed(value, 2));
  return {
    header: ['replicas', 'offered', ...names, 'total', 'machine total', 'other'],
    rows: report.runs.map((run) => [
      run.replicas,
      offeredLabel(run),
      ...names.map((name) => ms(run.cpuMsPerOrder[name])),
      ms(run.cpuPerOrder.total),
      ms(run.cpuPerOrder.machine),
      ms(run.cpuPerOrder.other),
    ]),
  };
}

export function renderSvg(report: SagaReport, verdict: Verdict): string {
  const rateRuns = report.runs.filter((run) => !run.overload);
  const numeric = report.options.rates.filter((r): r is number => r !== 'flat');
  const flatX = Math.max(...numeric, 100) * 1.25;
  const xOf = (run: RateRun) => (run.offered === 'flat' ? flatX : run.offered);
  const xTicks = [
    ...numeric.map((x) => ({ x, label: String(x) })),
    ...(report.options.rates.includes('flat') ? [{ x: flatX, label: 'flat out' }] : []),
  ];
  const byReplicas = (replicas: number) => rateRuns.filter((run) => run.replicas === replicas);
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
  const cpuNames = [...new Set(rateRuns.flatMap((run) => Object.keys(run.cpuMsPerOrder).map(groupOf)))];
  const cpuRuns = rateRuns.filter((run) => run.offered === 'flat' || run.offered <= 100);
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
          { y: verdict.boundOrdersPerSecond, label: `database bound ${fixed(verdict.boundOrdersPerSecond, 0)}/s` },
          { y: verdict.boundOrdersPerSecond * TARGETS.boundRatio, label: `target: ${TARGETS.boundRatio} x bound` },
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
          { y: TARGETS.unloadedP50Ms, label: `p50 target ${TARGETS.unloadedP50Ms} ms at ${TARGETS.unloadedRate}/s` },
          { y: TARGETS.unloadedP99Ms, label: `p99 target ${TARGETS.unloadedP99Ms} ms at ${TARGETS.unloadedRate}/s` },
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

/**
 * Against offered load (the open-loop rates and the overload rows, flat out left out): completed and
 * accepted orders/s; the share refused (503) and the p99 latency of the accepted orders.
 */
export function renderOverloadSvg(report: SagaReport, verdict: Verdict): string {
  const pointsOf = (replicas: number, y: (run: RateRun) => number) =>
    report.runs
      .filter((run): run is RateRun & { offered: number } => run.replicas === replicas && run.offered !== 'flat')
      .sort((a, b) => a.offered - b.offered)
      .map((run) => ({ x: run.offered, y: y(run) }));
  const colorOf = (i: number) => PALETTE[i % PALETTE.length] as string;
  const replicaCounts = report.options.replicas;
  const offered = [...new Set(report.runs.flatMap((run) => (run.offered === 'flat' ? [] : [run.offered])))].sort(
    (a, b) => a - b,
  );
  const rates: Series[] = replicaCounts.flatMap((replicas, i) => [
    {
      name: `completed/s, ${replicas} replica(s)`,
      color: colorOf(i),
      points: pointsOf(replicas, (run) => run.completedPerSecond),
    },
    {
      name: `accepted/s, ${replicas} replica(s)`,
      color: colorOf(i),
      dashed: true,
      points: pointsOf(replicas, (run) => run.acceptedPerSecond),
    },
  ]);
  rates.push({ name: 'offered', color: '#999', dashed: true, points: offered.map((x) => ({ x, y: x })) });
  const hasOverload = (replicas: number) => report.runs.some((run) => run.overload && run.replicas === replicas);
  const small = { width: 372, height: 360 };
  return stackSvgs(
    [
      lineChart({
        title: 'Completed and accepted orders/s against offered load',
        xLabel: 'offered orders/s',
        yLabel: 'orders/s',
        series: rates,
        yMin: 0,
        referenceLines: replicaCounts.flatMap((replicas, i) =>
          hasOverload(replicas)
            ? [
                {
                  y: (verdict.peaks[replicas] ?? NaN) * TARGETS.overloadShareOfPeak,
                  label: `target ${TARGETS.overloadShareOfPeak} x peak, ${replicas} replica(s)`,
                  color: colorOf(i),
                },
              ]
            : [],
        ),
      }),
      stackSvgs(
        [
          lineChart({
            ...small,
            title: 'Refused (503) share of POSTs',
            xLabel: 'offered orders/s',
            yLabel: '% of POSTs refused',
            series: replicaCounts.map((replicas, i) => ({
              name: `${replicas} replica(s)`,
              color: colorOf(i),
              points: pointsOf(replicas, (run) => run.refusedShare * 100),
            })),
            yMin: 0,
          }),
          lineChart({
            ...small,
            title: 'Accepted: p99 POST → CONFIRMED',
            xLabel: 'offered orders/s',
            yLabel: 'ms (log scale)',
            series: replicaCounts.map((replicas, i) => ({
              name: `${replicas} replica(s)`,
              color: colorOf(i),
              points: pointsOf(replicas, (run) => run.latencyMs.p99),
            })),
            logY: true,
            referenceLines: [{ y: TARGETS.overloadP99Ms, label: `target ${TARGETS.overloadP99Ms} ms` }],
          }),
        ],
        { columns: 2 },
      ),
    ],
    { columns: 1 },
  );
}

export function renderMarkdown(report: SagaReport, verdict: Verdict, svgFile: string, overloadSvgFile: string): string {
  const cpu = cpuTable(report);
  const tps = report.database.transactionsPerSecond;
  const overload = overloadRows(report, verdict);
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
      verdict.targets.map((t) => [t.name, t.value, verdictText(t.pass)]),
    ),
    '',
    '## Database bound',
    '',
    `${report.database.clients} clients committing write transactions of one business row and one outbox row each: ` +
      `**${Math.round(tps)} transactions/s**. An order costs ` +
      `**${fixed(verdict.writesPerOrder, 1)} write transactions** (transactions assigned a transaction id, ` +
      'measured at the best rate), so the database alone bounds the saga at database transactions/s ÷ writes ' +
      `per order = ${Math.round(tps)} ÷ ${fixed(verdict.writesPerOrder, 1)} = ` +
      `**${fixed(verdict.boundOrdersPerSecond, 0)} orders/s**. Best measured: ` +
      `${fixed(verdict.best.completedPerSecond, 1)} orders/s (${runLabel(verdict.best)}): ` +
      `**${fixed(verdict.ratio, 2)} x the bound**.`,
    '',
    `Counting every committed transaction instead (pg_stat_database.xact_commit, read-only ones included: ` +
      `${fixed(verdict.commitsPerOrder, 1)} per order at the best rate), the bound would be ${Math.round(tps)} ÷ ` +
      `${fixed(verdict.commitsPerOrder, 1)} = ${fixed(verdict.xactBoundOrdersPerSecond, 0)} orders/s ` +
      `(best = ${fixed(verdict.best.completedPerSecond / verdict.xactBoundOrdersPerSecond, 2)} x that).`,
    '',
    '## Per offered rate',
    '',
    markdownTable(HEADER, runRows(report), ALIGN),
    '',
    '## Overload',
    '',
    `![completed and accepted orders/s, refused share and accepted p99 latency against offered load](${overloadSvgFile})`,
    '',
    overload.length
      ? markdownTable(OVERLOAD_HEADER, overload, OVERLOAD_ALIGN)
      : 'No overload rows in this run (`--overload ""`).',
    '',
    `peak: the best completed/s of the replica count at the rates below overload, the capacity the overload rows are multiples of (${Object.entries(
      verdict.peaks,
    )
      .map(([replicas, peak]) => `${replicas} replica(s): ${fixed(peak, 1)}/s`)
      .join(', ')}).`,
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
    report.options.overload.length
      ? '- Overload: after the listed rates of a replica count, its capacity C is the best completed/s of its ' +
        `runs so far; then open loop at ${report.options.overload.join(' and ')} x C for ${report.options.seconds} ` +
        's each (labelled "<k>x (=<k x C, rounded>/s)"). Peak in the targets and the overload table: the best ' +
        'completed/s of the replica count over all its rows, overload rows included.'
      : '- No overload rows (`--overload ""`).',
    '- Answers: 202 with an order id is accepted; 503 is refused (admission control), not an error: its share of ' +
      'the POSTs sent, its response time and whether it carried a Retry-After header are recorded; any other answer ' +
      '(another status, no answer within 30 s, a connection error) is an error. "other 5xx": 5xx answers but 503. ' +
      'sent/s and accepted/s: over the sending interval, from the first to the last POST.',
    '- Latency: from sending POST /orders to the start of the transaction that set the order CONFIRMED ' +
      '(`orders.updated_at`, same machine clock), accepted orders that were CONFIRMED only, read from the orders ' +
      'database after the run, so that measuring adds no load. completed/s: CONFIRMED orders from the first POST to ' +
      'the last confirmation. "202 p99 ms": POST → its 202 answer.',
    '- Errors: answers neither 202 nor 503, orders CANCELLED, orders not final within the drain time ' +
      `(${report.options.drainSeconds} s).`,
    '- CPU: sampled every 200 ms from the first POST until every order was final: /proc/<pid>/stat (user + system) ' +
      'of each app process, of RabbitMQ (beam.smp) and of every PostgreSQL process. The broker and PostgreSQL ' +
      'processes are listed again at each sample: a process that appeared during the run (a backend a pool opened) ' +
      'counts all its CPU, one that exited keeps what it had used at its last sample (up to 200 ms of its CPU may be ' +
      'missed); a group is the sum over its processes of latest - first reading. The load generator is the ' +
      'benchmark process itself (sampling included). "total": all the processes but the load generator. "machine ' +
      'total": the busy time of all CPUs over the same interval (/proc/stat: user + nice + system + irq + softirq + ' +
      'steal). "other": machine total - all named processes (load generator included): other processes of the ' +
      "machine, RabbitMQ's helpers, the kernel's work, what exited processes used after their last sample, and " +
      'the 10 ms tick rounding of each reading (it may be slightly negative). All divided by the CONFIRMED orders.',
    "- transactions/order: pg_stat_database.xact_commit of the four apps' databases, read-only transactions " +
      "included (health checks, idle polls, the benchmark's own polling of the orders database), from before the " +
      'run to 1.5 s after every order was final (the statistics are flushed about once a second), per accepted ' +
      'order. writes/order: over the same interval, the growth of the next transaction id of the PostgreSQL ' +
      'cluster (`pg_snapshot_xmax(pg_current_snapshot())`, which takes none): the transactions (and ' +
      'subtransactions) that were assigned an id because they wrote, committed or rolled back, per CONFIRMED ' +
      "order. Nothing but the apps writes to this PostgreSQL cluster during a run (the benchmark's own queries " +
      "only read; autovacuum's ANALYZE takes an id now and then).",
    `- Database bound: ${report.database.clients} clients committing, as fast as they can, the write transaction ` +
      'every saga step commits (one business row, one outbox row, the shapes and indexes of the real tables) for ' +
      `${report.options.dbSeconds} s on a fresh database: D transactions/s. bound = D ÷ writes/order at the best ` +
      'rate; the former figure D ÷ transactions/order is shown next to it.',
  ];
  return lines.join('\n');
}

export async function renderReport(report: SagaReport, dir: string): Promise<{ table: string; files: string[] }> {
  const verdict = judge(report);
  const overload = overloadRows(report, verdict);
  const tps = report.database.transactionsPerSecond;
  const table = [
    markdownTable(HEADER, runRows(report), ALIGN),
    ...(overload.length ? ['', markdownTable(OVERLOAD_HEADER, overload, OVERLOAD_ALIGN)] : []),
    '',
    `database bound: ${Math.round(tps)} tx/s / ${fixed(verdict.writesPerOrder, 1)} writes per order = ${fixed(verdict.boundOrdersPerSecond, 0)} orders/s; ` +
      `best ${fixed(verdict.best.completedPerSecond, 1)} orders/s = ${fixed(verdict.ratio, 2)} x ` +
      `(by all committed transactions: ${Math.round(tps)} / ${fixed(verdict.commitsPerOrder, 1)} = ${fixed(verdict.xactBoundOrdersPerSecond, 0)} orders/s)`,
    ...verdict.targets.map((t) => `${verdictText(t.pass).padEnd(4)}  ${t.name}: ${t.value}`),
  ].join('\n');
  const overloadSvg = 'bench-saga-overload.svg';
  const files = await writeReport({
    dir,
    name: 'bench-saga',
    json: { ...report, verdict: { ...verdict, best: runLabel(verdict.best) } },
    markdown: renderMarkdown(report, verdict, 'bench-saga.svg', overloadSvg),
    svg: renderSvg(report, verdict),
  });
  const overloadPath = join(resolve(dir), overloadSvg);
  await writeFile(overloadPath, renderOverloadSvg(report, verdict));
  return { table, files: [...files, overloadPath] };
}
