export interface WaitForOptions {
  /** Gives up after this long; 10 s by default. */
  timeoutMs?: number;
  /** Pause between two probes; 50 ms by default. */
  intervalMs?: number;
  /** What is awaited, for the error on timeout: "the order to be CONFIRMED". */
  description: string;
}

type Pending = undefined | false;

/**
 * Calls `probe` until it returns something other than `undefined` or `false`, and resolves with that.
 * A probe that throws counts as "not yet"; its last error is part of the timeout message.
 */
export async function waitFor<T>(probe: () => Promise<T | Pending> | T | Pending, options: WaitForOptions): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, description } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await beforeDeadline(Promise.resolve(probe()), deadline);
      if (value !== undefined && value !== false) return value as T;
      lastError = undefined;
    } catch (error) {
      if (error === TIMED_OUT) break;
      lastError = error;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await sleep(Math.min(intervalMs, remaining));
  }
  const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const TIMED_OUT = Symbol('timed out');

/** A probe that hangs must not hold the wait past its deadline. */
function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
