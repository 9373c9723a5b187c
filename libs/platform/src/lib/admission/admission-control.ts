import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** One reading of a load signal: whether it says the system has taken as much as it can serve. */
export interface LoadReading {
  overloaded: boolean;
  /** What was read, for the refusal's message and the log ("42 orders in flight older than 400 ms"). */
  detail: string;
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
 * A signal whose read fails (the database away) says nothing: the request then fails on its own
 * terms, with the 503 of an outage.
 */
export class AdmissionControl {
  private inFlight = 0;
  private readings: Array<{ name: string; reading: LoadReading }> = [];
  private readAt = Number.NEGATIVE_INFINITY;
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

  close(): void {
    this.loopDelay?.disable();
  }

  private refusal(now: number): { signal: string; detail: string } | undefined {
    const { maxInFlight } = this.options;
    if (maxInFlight > 0 && this.inFlight >= maxInFlight) {
      return { signal: 'in-flight', detail: `${this.inFlight} requests in flight (at most ${maxInFlight})` };
    }
    if (now - this.readAt > 2 * this.options.sampleIntervalMs) return undefined; // stale: unknown
    const full = this.readings.find(({ reading }) => reading.overloaded);
    return full && { signal: full.name, detail: full.reading.detail };
  }

  private refresh(now: number): void {
    if (this.reading) return;
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
 * broker away or slower than the commits), so that an outage of minutes refuses new work instead of
 * piling it up. `read` is MessagingService.outboxBacklog.
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
