export interface RateLimit {
  /** Tokens (deliveries) added per second. */
  ratePerSecond: number;
  /** Tokens the bucket holds at most, and holds at the start: how many may go at once after a pause. Default 1. */
  burst?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

/** Token arithmetic in floating point: 0.1 s at 10/s must count as the whole token it is. */
const EPSILON = 1e-9;

/**
 * One subscription's delivery rate: a token bucket refilled at `ratePerSecond` up to `burst`.
 * `take()` resolves when a token is free, in the order of the calls (a later caller never overtakes
 * a waiting one), woken by one timer for the head of the queue: no polling.
 */
export class RateLimiter {
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private refilledAt = performance.now();
  private readonly waiters: Waiter[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private closedWith?: Error;

  constructor({ ratePerSecond: rate, burst = 1 }: RateLimit) {
    if (!Number.isFinite(rate) || rate <= 0)
      throw new RangeError(`ratePerSecond must be a positive number, not ${rate}`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be an integer >= 1, not ${burst}`);
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
  }

  /** Callers waiting for a token. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves when a token is taken; rejects with the signal's reason if it aborts first, or when closed. */
  take(signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1 - EPSILON) {
      this.tokens = Math.max(0, this.tokens - 1);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /** Rejects every waiter and every later `take()`; idempotent. */
  close(reason: Error = new Error('rate limiter closed')): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const waiter of this.waiters.splice(0)) {
      waiter.detach();
      waiter.reject(reason);
    }
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }

  /** One timer, for when the head of the queue gets its token. */
  private schedule(): void {
    if (this.timer || this.waiters.length === 0) return;
    const delayMs = Math.max(0, Math.ceil(this.due() - performance.now() - EPSILON));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, delayMs);
  }

  /** When the bucket holds a whole token: now or in the past if it does already. */
  private due(): number {
    return this.refilledAt + ((1 - this.tokens) * 1000) / this.rate;
  }

  private release(): void {
    const now = performance.now();
    const interval = 1000 / this.rate;
    while (this.waiters.length > 0) {
      const due = this.due();
      if (due > now + EPSILON) break;
      if (due < now - interval) {
        // Woken very late (a blocked event loop): the bucket refills as it would have, a full one at most.
        this.refill();
      } else if (this.tokens < 1) {
        // Woken a little late (timers have a millisecond's grain): the token counts from when it came,
        // or each wake-up would lose a fraction of a token and the rate drift below `ratePerSecond`.
        this.tokens = 1;
        this.refilledAt = due;
      }
      this.tokens = Math.max(0, this.tokens - 1);
      const waiter = this.waiters.shift() as Waiter;
      waiter.detach();
      waiter.resolve();
    }
    this.schedule();
  }

  private remove(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
    // The timer stays: the next waiter needs a token at the same moment the removed one did.
    if (this.waiters.length === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
