/** What the orchestrator (messaging-bench.ts) and its child processes (child.ts) say to each other over IPC. */

export const CLIENTS = ['raw', 'steps', 'library', 'nest', 'golevelup'] as const;
export type ClientName = (typeof CLIENTS)[number];

export const QUEUE_TYPES = ['classic', 'quorum'] as const;
export type QueueType = (typeof QUEUE_TYPES)[number];

/** How the large-event runs publish: the library's relay with compression off, gzip or brotli. */
export const LARGE_ENCODINGS = ['off', 'gzip', 'br'] as const;
export type LargeEncoding = (typeof LARGE_ENCODINGS)[number];

/** `throughput`: closed loop, as fast as the confirm window allows; `latency`: open loop at a fixed rate. */
export type RunKind = 'throughput' | 'latency';

export interface RunConfig {
  role: 'publisher' | 'consumer';
  client: ClientName;
  kind: RunKind;
  /** AMQP URL of the run's own vhost. */
  url: string;
  exchange: string;
  routingKey: string;
  queue: string;
  /** Measured messages. */
  messages: number;
  /** Messages published and consumed before the measurement starts (JIT, connection and queue warm-up). */
  warmup: number;
  /** Unacknowledged deliveries per consumer. */
  prefetch: number;
  /** Unconfirmed publishes outstanding at most. */
  window: number;
  /** Latency runs: messages per second. */
  rate: number;
  /**
   * Large-event runs (the library only): events of about `bytes` of realistic JSON (an order of many
   * lines) instead of the smallest order.placed, published with compression off or on.
   */
  large?: { bytes: number; compression: LargeEncoding };
}

export interface CpuTime {
  /** Microseconds. */
  user: number;
  system: number;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Child to orchestrator. Times are epoch milliseconds, `performance.timeOrigin + performance.now()`. */
export type ChildMessage =
  | { type: 'ready'; bodyBytes?: number }
  | { type: 'warm' }
  | { type: 'armed' }
  | { type: 'progress'; done: number }
  | {
      type: 'published';
      count: number;
      firstAt: number;
      lastAt: number;
      cpu: CpuTime;
      /** Latency runs: the publisher's worst delay behind its schedule, ms. */
      maxLagMs?: number;
      /** Bytes compression took off the measured messages' bodies (clients that compress). */
      savedBytes?: number;
    }
  | {
      type: 'consumed';
      count: number;
      firstAt: number;
      lastAt: number;
      cpu: CpuTime;
      latency?: LatencySummary;
    }
  | { type: 'error'; message: string };

/** Orchestrator to child. */
export type ParentMessage = { type: 'warmup' } | { type: 'go' } | { type: 'stop' };

/** Header carrying the send time (epoch ms, as a string) in latency runs. */
export const SENT_AT_HEADER = 'x-bench-sent-at';

/** The wall clock every process reads the same way: high resolution, epoch milliseconds. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
