import { now, type ChildMessage, type CpuTime, type LatencySummary, type RunConfig } from './protocol';

/** Publishes message `seq`; calls `done` once the broker confirmed it (with an error when it did not). */
export type PublishFn = (seq: number, sentAt: number | undefined, done: (err?: unknown) => void) => void;

/** What each client's publisher side offers the drivers below. */
export interface PublisherClient {
  publish: PublishFn;
  /** Runs the publishing loop in the client's context (the library: a request's trace). */
  inContext?: <T>(work: () => T) => T;
  /** Size of the message body this client puts on the wire, bytes (before any compression). */
  bodyBytes: number;
  /** Bytes compression took off the bodies published so far (clients that compress). */
  savedBytes?: () => Promise<number>;
  close(): Promise<void>;
}

/**
 * Called by each client's consumer-side handler, once per message, before the client acknowledges
 * it (or right after, for raw amqplib). `sentAt` is the send time the message carries in latency runs.
 */
export type Received = (sentAt?: number | string) => void;

export interface ConsumerClient {
  close(): Promise<void>;
}

/**
 * Closed loop: `count` messages, never more than `window` unconfirmed. Resolves when all are confirmed.
 */
export function closedLoop(count: number, window: number, publish: PublishFn, firstSeq = 0): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (count === 0) return resolve();
    let sent = 0;
    let confirmed = 0;
    let failed = false;
    const done = (err?: unknown) => {
      if (failed) return;
      if (err) {
        failed = true;
        return reject(err instanceof Error ? err : new Error(String(err)));
      }
      confirmed++;
      if (confirmed === count) return resolve();
      if (sent < count) publish(firstSeq + sent++, undefined, done);
    };
    while (sent < Math.min(window, count)) publish(firstSeq + sent++, undefined, done);
  });
}

/**
 * Open loop at `rate` messages per second: message i is due at start + i / rate, whatever the
 * confirms do (bounded by `window` unconfirmed all the same). The send time each message carries is
 * read just before the client's publish call. Resolves with the worst lag behind the schedule.
 */
export function paced(
  count: number,
  rate: number,
  window: number,
  publish: PublishFn,
  firstSeq = 0,
): Promise<{ maxLagMs: number }> {
  return new Promise((resolve, reject) => {
    const interval = 1000 / rate;
    const start = now();
    let sent = 0;
    let confirmed = 0;
    let inFlight = 0;
    let maxLagMs = 0;
    let failed = false;
    const done = (err?: unknown) => {
      if (failed) return;
      if (err) {
        failed = true;
        return reject(err instanceof Error ? err : new Error(String(err)));
      }
      inFlight--;
      confirmed++;
      if (confirmed === count) resolve({ maxLagMs });
    };
    const tick = () => {
      if (failed) return;
      const t = now();
      while (sent < count && start + sent * interval <= t && inFlight < window) {
        maxLagMs = Math.max(maxLagMs, t - (start + sent * interval));
        inFlight++;
        publish(firstSeq + sent++, now(), done);
      }
      if (sent < count) setTimeout(tick, Math.max(0, start + sent * interval - now()));
    };
    tick();
  });
}

/**
 * The consumer side's bookkeeping, the same for every client: counts deliveries, records latencies,
 * and measures CPU from `arm()` to the last measured message. The end is taken in the first macrotask
 * after the last handler returned: by then each client has sent its acknowledgement (they all ack in
 * the handler's continuation, or, for raw amqplib, before calling `received`).
 */
export class Sink {
  private count = 0;
  private base?: NodeJS.CpuUsage;
  private firstAt = 0;
  private readonly latencies?: Float64Array;
  private readonly total: number;
  private finished = false;

  constructor(
    private readonly config: RunConfig,
    private readonly send: (message: ChildMessage) => void,
  ) {
    this.total = config.warmup + config.messages;
    if (config.kind === 'latency') this.latencies = new Float64Array(config.messages);
  }

  /** The measurement starts now. */
  arm(): void {
    this.base = process.cpuUsage();
  }

  get measured(): number {
    return Math.max(0, Math.min(this.count, this.total) - this.config.warmup);
  }

  readonly received: Received = (sentAt) => {
    const n = ++this.count;
    const { warmup } = this.config;
    if (n <= warmup) {
      if (n === warmup) setImmediate(() => this.send({ type: 'warm' }));
      return;
    }
    if (n > this.total) return;
    if (n === warmup + 1) this.firstAt = now();
    if (this.latencies) this.latencies[n - warmup - 1] = now() - Number(sentAt);
    if (n === this.total) setImmediate(() => this.finish());
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const lastAt = now();
    const usage = process.cpuUsage(this.base);
    const cpu: CpuTime = { user: usage.user, system: usage.system };
    const latency = this.latencies ? summarizeLatency(this.latencies) : undefined;
    this.send({
      type: 'consumed',
      count: this.measured,
      firstAt: this.firstAt,
      lastAt,
      cpu,
      latency,
    });
  }
}

function summarizeLatency(values: Float64Array): LatencySummary {
  const sorted = Array.from(values).sort((a, b) => a - b);
  const valid = sorted.filter((v) => Number.isFinite(v));
  if (valid.length !== sorted.length) throw new Error(`${sorted.length - valid.length} message(s) without a send time`);
  return {
    n: valid.length,
    p50: percentile(valid, 50),
    p90: percentile(valid, 90),
    p99: percentile(valid, 99),
    p999: percentile(valid, 99.9),
    max: valid[valid.length - 1] ?? NaN,
    mean: valid.reduce((a, b) => a + b, 0) / valid.length,
  };
}

/** Nearest rank, as `percentile` of @shop/testing (not imported here: the children stay lean). */
function percentile(sortedAscending: readonly number[], p: number): number {
  const n = sortedAscending.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((p / 100) * n);
  return sortedAscending[Math.min(n - 1, Math.max(0, rank - 1))] as number;
}
