import { NonRetryableError, RetryableError } from './consume/errors';

/**
 * Errors that say a dependency is out of reach for now, not that the code or the input is wrong:
 * an HTTP request answers 503 with Retry-After for them, and an event handler retries them with
 * backoff for as long as the outage lasts, without spending the message's attempts.
 */

/** Raised where the code itself finds a dependency unusable (a broker not connected, a pool closing). */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  constructor(
    readonly dependency: 'database' | 'broker',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), 53 (insufficient
 * resources: too many connections, out of memory or disk), 57P01-57P05 (shutting down, crashed,
 * starting up, idle session timeout), 57014 (statement timeout or cancel), 40001 / 40P01
 * (serialization failure, deadlock: the same statement succeeds when tried again), 25P03 (idle in
 * transaction timeout), 58000 / 58030 (system and I/O errors). Never XX000 (internal error) nor a
 * constraint or syntax error: those are bugs or bad input, and retrying does not help.
 */
const TRANSIENT_SQLSTATE = /^(08...|53...|57P0[1-5]|57014|40001|40P01|25P03|58000|58030)$/;

/** Socket errors of a server that is not there or went away (Node's `code`). */
const TRANSIENT_SOCKET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

/** What node-postgres and pg-pool say when a connection is lost or cannot be had in time (no code). */
const TRANSIENT_MESSAGE = [
  /^Connection terminated/, // unexpectedly / due to connection timeout
  /^timeout exceeded when trying to connect/, // pg-pool: no connection within connectionTimeoutMillis
  /^Query read timeout/, // query_timeout: the server stopped answering
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^Connection is not established/,
  /^the database system is (starting up|shutting down|in recovery mode)/,
];

/**
 * TypeORM's word for a transaction whose connection died under it (the server went away mid-request).
 * Rarely it is a bug instead (a runner used after its transaction ended), so only a request, which a
 * client retries at no risk with its Idempotency-Key, takes it for an outage: a handler spends an
 * attempt on it (its next try meets the outage itself, which spends none).
 */
const LOST_CONNECTION = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

/**
 * `'database'` when `error` (or what it wraps: TypeORM's `driverError`, an `AggregateError`'s
 * errors, a `cause`) says PostgreSQL is unreachable or cannot serve for now; `'broker'` for a
 * DependencyUnavailableError of the broker; undefined for anything else, which stays unexpected, and
 * for a RetryableError or NonRetryableError, whatever their cause.
 * `lostConnection`: also a transaction that lost its connection (see LOST_CONNECTION).
 */
export function unavailableDependency(
  error: unknown,
  options: { lostConnection?: boolean } = {},
): 'database' | 'broker' | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): 'database' | 'broker' | undefined => {
    if (!value || typeof value !== 'object' || seen.has(value) || depth > 5) return undefined;
    seen.add(value);
    if (value instanceof DependencyUnavailableError) return value.dependency;
    // A handler's own verdict (retry, or not) is not second-guessed from what it wraps: a webhook
    // call refused by its target (ECONNREFUSED) says nothing of the database.
    if (value instanceof RetryableError || value instanceof NonRetryableError) return undefined;
    const { name, code, message, driverError, errors, cause } = value as {
      name?: unknown;
      code?: unknown;
      message?: unknown;
      driverError?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    if (options.lostConnection && typeof name === 'string' && LOST_CONNECTION.has(name)) return 'database';
    if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_SOCKET.has(code))) return 'database';
    if (typeof message === 'string' && TRANSIENT_MESSAGE.some((pattern) => pattern.test(message))) return 'database';
    for (const inner of [driverError, cause, ...(Array.isArray(errors) ? errors : [])]) {
      const found = visit(inner, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return visit(error, 0);
}
