import { summarize } from '@shop/testing';
import type { ClientName, LargeEncoding, QueueType } from './protocol';
import type { RunRecord } from './run';

export type Stat = ReturnType<typeof summarize>;

/** Medians (with min and max over the rounds) of one client on one queue type. */
export interface ClientSummary {
  queueType: QueueType;
  client: ClientName;
  bodyBytes?: number;
  failedRuns: number;
  throughput: Stat;
  /** Per round: this client's msg/s over raw's in the same round. */
  throughputRatio: Stat;
  publisherCpuUsPerMsg: Stat;
  publisherCpuRatio: Stat;
  consumerCpuUsPerMsg: Stat;
  consumerCpuRatio: Stat;
  latencyP50: Stat;
  latencyP99: Stat;
  /** Per round: this client's p99 minus raw's in the same round, ms. */
  latencyP99DiffMs: Stat;
  latencyP50DiffMs: Stat;
}

export interface TargetResult {
  queueType: QueueType;
  target: string;
  value: number;
  limit: string;
  pass: boolean | undefined;
}

export const TARGETS = {
  throughputRatio: 0.95,
  cpuRatio: 1.3,
  p99DiffMs: 1,
} as const;

export function summarizeRuns(runs: RunRecord[], queueTypes: QueueType[], clients: ClientName[]): ClientSummary[] {
  // the large-event runs have a summary of their own (summarizeLarge)
  runs = runs.filter((run) => !run.large);
  const ok = runs.filter((run) => run.ok);
  const find = (queueType: QueueType, client: ClientName, kind: RunRecord['kind'], round: number) =>
    ok.find((r) => r.queueType === queueType && r.client === client && r.kind === kind && r.round === round);
  const summaries: ClientSummary[] = [];
  for (const queueType of queueTypes) {
    for (const client of clients) {
      const mine = ok.filter((r) => r.queueType === queueType && r.client === client);
      const throughput = mine.filter((r) => r.kind === 'throughput');
      const latency = mine.filter((r) => r.kind === 'latency');
      const perRound = <T>(
        list: RunRecord[],
        kind: RunRecord['kind'],
        pick: (run: RunRecord) => number | undefined,
        combine: (mine: number, raw: number) => T,
      ): T[] =>
        list.flatMap((run) => {
          const raw = find(queueType, 'raw', kind, run.round);
          const a = pick(run);
          const b = raw && pick(raw);
          return a === undefined || b === undefined ? [] : [combine(a, b)];
        });
      const values = (list: RunRecord[], pick: (run: RunRecord) => number | undefined) =>
        list.map(pick).filter((v): v is number => v !== undefined);
      const ratio = (a: number, b: number) => a / b;
      const diff = (a: number, b: number) => a - b;
      summaries.push({
        queueType,
        client,
        bodyBytes: mine.find((r) => r.bodyBytes !== undefined)?.bodyBytes,
        failedRuns: runs.filter((r) => !r.ok && r.queueType === queueType && r.client === client).length,
        throughput: summarize(values(throughput, (r) => r.e2eRate)),
        throughputRatio: summarize(perRound(throughput, 'throughput', (r) => r.e2eRate, ratio)),
        publisherCpuUsPerMsg: summarize(values(throughput, (r) => r.publisherCpuUsPerMsg)),
        publisherCpuRatio: summarize(perRound(throughput, 'throughput', (r) => r.publisherCpuUsPerMsg, ratio)),
        consumerCpuUsPerMsg: summarize(values(throughput, (r) => r.consumerCpuUsPerMsg)),
        consumerCpuRatio: summarize(perRound(throughput, 'throughput', (r) => r.consumerCpuUsPerMsg, ratio)),
        latencyP50: summarize(values(latency, (r) => r.latency?.p50)),
        latencyP99: summarize(values(latency, (r) => r.latency?.p99)),
        latencyP99DiffMs: summarize(perRound(latency, 'latency', (r) => r.latency?.p99, diff)),
        latencyP50DiffMs: summarize(perRound(latency, 'latency', (r) => r.latency?.p50, diff)),
      });
    }
  }
  return summaries;
}

/** The library's large-event runs of one queue type and compression (medians, min and max over the rounds). */
export interface LargeSummary {
  queueType: QueueType;
  compression: LargeEncoding;
  /** The event's JSON, bytes. */
  bodyBytes?: number;
  /** What went on the wire per message, bytes. */
  wireBytes: Stat;
  failedRuns: number;
  throughput: Stat;
  /** Per round: msg/s over the same queue's run without compression. */
  throughputRatio: Stat;
  publisherCpuUsPerMsg: Stat;
  consumerCpuUsPerMsg: Stat;
}

export function summarizeLarge(runs: RunRecord[], queueTypes: QueueType[], encodings: LargeEncoding[]): LargeSummary[] {
  const large = runs.filter((run) => run.large);
  const ok = large.filter((run) => run.ok);
  const summaries: LargeSummary[] = [];
  for (const queueType of queueTypes) {
    for (const compression of encodings) {
      const mine = ok.filter((r) => r.queueType === queueType && r.large === compression);
      const values = (pick: (run: RunRecord) => number | undefined) =>
        mine.map(pick).filter((v): v is number => v !== undefined);
      const ratios = mine.flatMap((run) => {
        const off = ok.find((r) => r.queueType === queueType && r.large === 'off' && r.round === run.round);
        return off?.e2eRate && run.e2eRate ? [run.e2eRate / off.e2eRate] : [];
      });
      summaries.push({
        queueType,
        compression,
        bodyBytes: mine.find((r) => r.bodyBytes !== undefined)?.bodyBytes,
        wireBytes: summarize(values((r) => r.wireBytesPerMsg)),
        failedRuns: large.filter((r) => !r.ok && r.queueType === queueType && r.large === compression).length,
        throughput: summarize(values((r) => r.e2eRate)),
        throughputRatio: summarize(ratios),
        publisherCpuUsPerMsg: summarize(values((r) => r.publisherCpuUsPerMsg)),
        consumerCpuUsPerMsg: summarize(values((r) => r.consumerCpuUsPerMsg)),
      });
    }
  }
  return summaries;
}

/** The targets, for the library against raw amqplib, per queue type (undefined: not measured). */
export function evaluateTargets(summaries: ClientSummary[], queueTypes: QueueType[]): TargetResult[] {
  const results: TargetResult[] = [];
  for (const queueType of queueTypes) {
    const library = summaries.find((s) => s.queueType === queueType && s.client === 'library');
    const check = (target: string, stat: Stat | undefined, limit: string, pass: (v: number) => boolean) => {
      const value = stat?.median ?? NaN;
      results.push({ queueType, target, value, limit, pass: Number.isFinite(value) ? pass(value) : undefined });
    };
    check(
      'throughput vs raw',
      library?.throughputRatio,
      `>= ${TARGETS.throughputRatio}x`,
      (v) => v >= TARGETS.throughputRatio,
    );
    check(
      'publisher CPU/msg vs raw',
      library?.publisherCpuRatio,
      `<= ${TARGETS.cpuRatio}x`,
      (v) => v <= TARGETS.cpuRatio,
    );
    check(
      'consumer CPU/msg vs raw',
      library?.consumerCpuRatio,
      `<= ${TARGETS.cpuRatio}x`,
      (v) => v <= TARGETS.cpuRatio,
    );
    check(
      'p99 latency vs raw',
      library?.latencyP99DiffMs,
      `<= +${TARGETS.p99DiffMs} ms`,
      (v) => v <= TARGETS.p99DiffMs,
    );
  }
  return results;
}
