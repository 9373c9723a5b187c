import type { OnApplicationShutdown } from '@nestjs/common';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** One reading of a load signal: whether it says the system has taken as much as it can serve. */
export interface LoadReading {
  overloaded: boolean;
  /** What was read, for the refusal's message and the log ("42 orders in flight older than 400 ms"). */
  detail: string;
  /**
   * How many more requests this process may admit until the next reading (a limit minus what is in
   * flight): past it, refused on this signal's detail without waiting for the next reading.
   */
  headroom?: number;
}

/**
 * Something the system can observe that says it is full: a backlog, a lag, an age. Read at most once
 * per sample interval, off the request path; requests are admitted or refused on the last reading.
 */
export interface LoadSignal {
  /** Short, stable: the `signal` label of the refusals' counter. */
  name: string;
  read(): Promise<LoadReading> | LoadReading;
}

export interface AdmissionOptions {
  /** Requests at once in this process (admitted, not answered yet); 0: no limit. */
  maxInFlight: number;
  /** p99 of this process's event-loop delay over the last sample interval; 0: not watched. */
  maxEventLoopDelayMs: number;
  /** How often the signals are read (only while requests come: an idle process reads nothing). */
  sampleIntervalMs: number;
  /** What a refusal's Retry-After says, in seconds. */
  retryAfterSeconds: number;
}

/** A read of the signals under way for longer than this many sample intervals refuses by itself. */
const SLOW_READ_INTERVALS = 5;

export type Admission =
  | { admitted: true; release(): void }
  | { admitted: false; signal: string; detail: string; retryAfterSeconds: number };

/**
 * Admission control for work that the system does after answering (an order's saga): a request is
 * refused with "try again in a second" when what the system can observe says that what it has
 * accepted already will keep it busy (a backlog, a lag, an event loop late), so that what it
 * accepts is served in time instead of everything waiting longer. Refusing is cheap: no body is
 * validated, no database touched.
 *
 * Built in: requests in flight in this process and its event-loop delay. Others (`signals`) are read
 * every `sampleIntervalMs` while requests come, in the background; a request is decided on the last
 * readings, and readings older than two intervals (after an idle spell) count as unknown: admitted.
 * While a read is under way the last readings stand; a read that takes longer than five intervals
 * (the database queueing its queries under the load) refuses by itself. A signal whose read fails
 * (the database away) says nothing: the request then fails on its own terms, with the 503 of an
 * outage.
 */
export class AdmissionControl implements OnApplicationShutdown {
  private inFlight = 0;
  private readings: Array<{ name: string; reading: LoadReading }> = [];
  private readAt = Number.NEGATIVE_INFINITY;
  /** Requests admitted since the readings were taken: what a signal's headroom is spent on. */
  private admittedSinceRead = 0;
  private readStartedAt = Number.NEGATIVE_INFINITY;
  private reading?: Promise<void>;
  private readonly loopDelay?: IntervalHistogram;
  private loopDelaySince: number;

  constructor(
    private readonly options: AdmissionOptions,
    private readonly signals: readonly LoadSignal[] = [],
    private readonly now: () => number = () => performance.now(),
  ) {
    if (options.maxEventLoopDelayMs > 0) {
      this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
      this.loopDelay.enable();
    }
    this.loopDelaySince = this.now();
  }

  /** Decides one request: admitted (call `release` once answered) or refused, with the signal that said so. */
  admit(): Admission {
    const now = this.now();
    if (now - this.readAt >= this.options.sampleIntervalMs) this.refresh(now);
    const full = this.refusal(now);
    if (full) return { admitted: false, ...full, retryAfterSeconds: this.options.retryAfterSeconds };
    this.inFlight++;
    this.admittedSinceRead++;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
      },
    };
  }

  /** What the signals said last (for the log and tests). */
  lastReadings(): ReadonlyArray<{ name: string; reading: LoadReading }> {
    return this.readings;
  }

  /** Stops sampling the event loop (Nest calls it at shutdown). */
  onApplicationShutdown(): void {
    this.loopDelay?.disable();
  }

  private refusal(now: number): { signal: string; detail: string } | undefined {
    const { maxInFlight, sampleIntervalMs } = this.options;
    if (maxInFlight > 0 && this.inFlight >= maxInFlight) {
      return { signal: 'in-flight', detail: `${this.inFlight} requests in flight (at most ${maxInFlight})` };
    }
    if (this.reading) {
      // Signals that take this long to read (a database queueing its queries) say enough themselves.
      const slowMs = SLOW_READ_INTERVALS * sampleIntervalMs;
      if (now - this.readStartedAt > slowMs) {
        return { signal: 'slow-signals', detail: `the load signals took more than ${slowMs} ms to read` };
      }
      // Meanwhile the last readings stand, if they were fresh when this read began (not after an idle spell).
      if (this.readStartedAt - this.readAt > 2 * sampleIntervalMs) return undefined;
    } else if (now - this.readAt > 2 * sampleIntervalMs) {
      return undefined; // stale: unknown
    }
    const full = this.readings.find(
      ({ reading }) =>
        reading.overloaded || (reading.headroom !== undefined && this.admittedSinceRead >= reading.headroom),
    );
    return full && { signal: full.name, detail: full.reading.detail };
  }

  private refresh(now: number): void {
    if (this.reading) return;
    this.readStartedAt = now;
    const before = this.admittedSinceRead;
    const admittedDuringRead = () => this.admittedSinceRead - before;
    const loop = this.readLoopDelay(now);
    this.reading = Promise.all(
      this.signals.map(async (signal) => {
        try {
          return { name: signal.name, reading: await signal.read() };
        } catch {
          return undefined;
        }
      }),
    )
      .then((read) => {
        this.readings = [...(loop ? [loop] : []), ...read.flatMap((r) => (r ? [r] : []))];
        this.readAt = this.now();
        // the readings were taken from the start of the read on: what was admitted since may not show
        this.admittedSinceRead = admittedDuringRead();
      })
      .finally(() => (this.reading = undefined));
  }

  private readLoopDelay(now: number): { name: string; reading: LoadReading } | undefined {
    if (!this.loopDelay) return undefined;
    // A histogram over a long idle spell says nothing of now: only a fresh window counts.
    const fresh = now - this.loopDelaySince <= 2 * this.options.sampleIntervalMs;
    const p99 = this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e6 : 0;
    this.loopDelay.reset();
    this.loopDelaySince = now;
    const limit = this.options.maxEventLoopDelayMs;
    return {
      name: 'event-loop-delay',
      reading: {
        overloaded: fresh && p99 > limit,
        detail: `event-loop delay p99 ${p99.toFixed(0)} ms (at most ${limit} ms)`,
      },
    };
  }
}

/**
 * The outbox as a load signal: full when its oldest event has waited longer than `maxAgeMs` (the
 * broker away or slower than the commits): a broker restart is absorbed (the outbox is there for
 * that), an outage of minutes refuses new work instead of piling it up. `read` is
 * MessagingService.outboxBacklog.
 */
export function outboxSignal(
  read: () => Promise<{ backlog: number; oldestAgeSeconds: number }>,
  maxAgeMs: number,
): LoadSignal {
  return {
    name: 'outbox',
    read: async () => {
      const { backlog, oldestAgeSeconds } = await read();
      const ageMs = oldestAgeSeconds * 1000;
      return {
        overloaded: maxAgeMs > 0 && ageMs > maxAgeMs,
        detail: `${backlog} events in the outbox, the oldest ${ageMs.toFixed(0)} ms old (at most ${maxAgeMs} ms)`,
      };
    },
  };
}
