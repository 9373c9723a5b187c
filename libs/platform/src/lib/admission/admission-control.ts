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
  /**
   * How long a request that lacks only headroom (a limit reached, nothing late) waits for it before it
   * is refused (`admitOrWait`); 0: refused at once. Absent: 0.
   */
  maxQueueMs?: number;
}

/** A read of the signals under way for longer than this many sample intervals refuses by itself. */
const SLOW_READ_INTERVALS = 5;

export type Admission =
  | { admitted: true; release(): void }
  | { admitted: false; signal: string; detail: string; retryAfterSeconds: number };

type Refusal = { signal: string; detail: string; waitable: boolean };

/** A request waiting for headroom (admitOrWait). */
interface Waiter {
  deadline: number;
  refusal: Refusal;
  resolve(admission: Admission): void;
}

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
  private queue: Waiter[] = [];
  private queueTimer?: NodeJS.Timeout;

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
    return full ? this.refused(full) : this.admitted();
  }

  /**
   * As `admit`, but a request that lacks only headroom (a limit on orders in flight reached while none
   * is late) waits for it, up to `maxQueueMs`, and is admitted as the next readings make room: a client
   * is paced by the system instead of sent away for a second while the system runs idle (a few busy
   * clients would otherwise keep it far below what it serves). Room goes to the request that waited
   * least (LIFO, as in "Fail at Scale", Facebook 2015): under a standing overload what is admitted has
   * hardly waited, and what waited longest is refused when its wait is over. What says the system is
   * late (a lag, the outbox, the event loop) still refuses at once, and so does a queue that would take
   * the process past its requests in flight.
   */
  admitOrWait(): Admission | Promise<Admission> {
    const now = this.now();
    if (now - this.readAt >= this.options.sampleIntervalMs) this.refresh(now);
    const full = this.queue.length > 0 ? this.queue[0].refusal : this.refusal(now);
    if (!full) return this.admitted();
    const { maxInFlight } = this.options;
    const maxQueueMs = this.options.maxQueueMs ?? 0;
    if (!full.waitable || maxQueueMs <= 0 || (maxInFlight > 0 && this.inFlight + this.queue.length >= maxInFlight)) {
      return this.refused(full);
    }
    return new Promise<Admission>((resolve) => {
      this.queue.push({ deadline: now + maxQueueMs, refusal: full, resolve });
      this.serveQueue();
    });
  }

  /** Requests waiting for headroom now (admitOrWait). */
  get waiting(): number {
    return this.queue.length;
  }

  private admitted(): Admission {
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

  private refused({ signal, detail }: Refusal): Admission {
    return { admitted: false, signal, detail, retryAfterSeconds: this.options.retryAfterSeconds };
  }

  /**
   * Admits waiting requests, the latest first, while the readings leave room; refuses them all once a
   * reading says the system is late, and those whose wait is over; then looks again at the next
   * reading (read on time while requests wait) or the oldest one's deadline.
   */
  private serveQueue(): void {
    if (this.queueTimer) clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
    const now = this.now();
    while (this.queue.length > 0) {
      const full = this.refusal(now);
      if (full && !full.waitable) {
        for (const waiter of this.queue.splice(0)) waiter.resolve(this.refused(full));
        break;
      }
      if (full) {
        for (const waiter of this.queue) waiter.refusal = full;
        while (this.queue.length > 0 && this.queue[0].deadline <= now) {
          const waiter = this.queue.shift() as Waiter;
          waiter.resolve(this.refused(waiter.refusal));
        }
        break;
      }
      (this.queue.pop() as Waiter).resolve(this.admitted());
    }
    if (this.queue.length === 0) return;
    const interval = this.options.sampleIntervalMs;
    const nextRead = Math.max(0, this.readAt + interval - now);
    this.queueTimer = setTimeout(
      () => {
        const at = this.now();
        if (at - this.readAt >= interval) this.refresh(at);
        this.serveQueue();
      },
      Math.min(nextRead || interval, Math.max(0, this.queue[0].deadline - now)),
    );
    this.queueTimer.unref?.();
  }

  /** What the signals said last (for the log and tests). */
  lastReadings(): ReadonlyArray<{ name: string; reading: LoadReading }> {
    return this.readings;
  }

  /** Stops sampling the event loop (Nest calls it at shutdown). */
  onApplicationShutdown(): void {
    this.loopDelay?.disable();
    if (this.queueTimer) clearTimeout(this.queueTimer);
  }

  private refusal(now: number): Refusal | undefined {
    const { maxInFlight, sampleIntervalMs } = this.options;
    if (maxInFlight > 0 && this.inFlight >= maxInFlight) {
      return {
        signal: 'in-flight',
        detail: `${this.inFlight} requests in flight (at most ${maxInFlight})`,
        waitable: false,
      };
    }
    if (this.reading) {
      // Signals that take this long to read (a database queueing its queries) say enough themselves.
      const slowMs = SLOW_READ_INTERVALS * sampleIntervalMs;
      if (now - this.readStartedAt > slowMs) {
        return {
          signal: 'slow-signals',
          detail: `the load signals took more than ${slowMs} ms to read`,
          waitable: false,
        };
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
    // Only a limit's headroom spent (nothing late) is worth waiting for: the next reading may make room.
    return full && { signal: full.name, detail: full.reading.detail, waitable: !full.reading.overloaded };
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
      .finally(() => {
        this.reading = undefined;
        if (this.queue.length > 0) this.serveQueue();
      });
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
