import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup as systemLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, Pool, request, type Dispatcher } from 'undici';
import { connectAllowed, internalAddressKind, type UrlAllowList } from './url-allow-list';

/** What a subscriber gets: one structured-mode CloudEvent per POST. */
export const PUSH_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
export const SIGNATURE_HEADER = 'X-Signature';
export const PUSH_USER_AGENT = 'shop-bridge';

/**
 * The X-Signature header of a body, GitHub-webhook style: `sha256=` followed by the lower-case hex
 * HMAC-SHA256 of the raw body bytes (exactly as sent, before any parsing) under the subscription's
 * secret. A subscriber recomputes it over the bytes it received and compares in constant time.
 */
export function signBody(secret: string | Uint8Array, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the signature of `body` under `secret`, compared in constant time. */
export function verifySignature(
  secret: string | Uint8Array,
  body: string | Uint8Array,
  header: string | readonly string[] | undefined,
): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(signBody(secret, body));
  const actual = Buffer.from(header.trim().toLowerCase());
  // The length of a signature is public; only its content must not leak through timing.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Resolves a host name to the addresses to connect to (dns.lookup by default; tests simulate DNS answers). */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    systemLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

export interface PushClientOptions {
  allowList: UrlAllowList;
  /**
   * The whole delivery, from the call to the last byte read: waiting for a socket, connecting,
   * TLS, sending, the answer's headers and its body (BRIDGE_DELIVERY_TIMEOUT_MS). Default 10 s.
   */
  timeoutMs?: number;
  /** TCP and TLS connection set-up, within `timeoutMs`. Default 5 s. */
  connectTimeoutMs?: number;
  /** Bytes of an answer's body read at most (only to be discarded, or quoted in a failure). Default 64 KiB. */
  maxResponseBytes?: number;
  /** Sockets per origin: the subscription's concurrency. Default 4. */
  connections?: number;
  resolve?: Resolver;
  /**
   * Certificates trusted in addition to the system's (a private CA in docker-compose, tests).
   * Certificate verification is never turned off.
   */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
}

export interface PushDelivery {
  url: string;
  secret: string;
  /** The CloudEvent as JSON text, or its bytes: signed and sent as they are. */
  body: string | Uint8Array;
  /** Sent along (traceparent, ce-id); they cannot replace the content type, signature or user agent. */
  headers?: Readonly<Record<string, string>>;
}

export interface PushResult {
  /** The 2xx the subscriber answered. */
  status: number;
  durationMs: number;
}

/**
 * - `not-allowed`: the URL is no longer allowed by BRIDGE_SUBSCRIBER_ALLOWLIST.
 * - `refused-address`: the host resolved to an internal address its allow-list entry does not name.
 * - `timeout`: no connection, or no complete answer, within the deadline.
 * - `redirect`: a 3xx; redirects are never followed (the target would escape the allow-list).
 * - `http-status`: any other non-2xx answer.
 * - `tls`: the TLS handshake failed (certificate not trusted, expired, for another name...).
 * - `connection`: refused, reset, unknown host and other socket errors.
 * - `aborted`: cancelled by the caller, or the client was closed or destroyed.
 */
export type PushFailureReason =
  | 'not-allowed'
  | 'refused-address'
  | 'timeout'
  | 'redirect'
  | 'http-status'
  | 'tls'
  | 'connection'
  | 'aborted';

export interface PushFailureDetails {
  durationMs: number;
  /** The answer's status, when there was one. */
  status?: number;
  /** The Location of a refused redirect. */
  location?: string;
  cause?: unknown;
}

/** A delivery that did not get a 2xx: thrown for the messaging library to retry, then dead-letter. */
export class PushFailure extends Error {
  override readonly name = 'PushFailure';
  readonly durationMs: number;
  readonly status?: number;
  readonly location?: string;

  constructor(
    readonly reason: PushFailureReason,
    message: string,
    { durationMs, status, location, cause }: PushFailureDetails,
  ) {
    super(message, { cause });
    this.durationMs = durationMs;
    this.status = status;
    this.location = location;
  }
}

/** Thrown by the guarded lookup; reaches the request's rejection unchanged (net destroys the socket with it). */
class RefusedAddressError extends Error {
  static readonly code = 'ERR_BRIDGE_REFUSED_ADDRESS';
  readonly code = RefusedAddressError.code;
}

const DEFAULTS = { timeoutMs: 10_000, connectTimeoutMs: 5_000, maxResponseBytes: 64 * 1024, connections: 4 };

/** Headers a caller cannot set: ours, and those that would desynchronise the framing of the request. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'x-signature',
  'user-agent',
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
]);

/** The bytes of a failed answer quoted in its message. */
const EXCERPT_BYTES = 200;

/**
 * Posts events to one subscription's endpoint. One client per subscription, each with its own
 * connection pool (undici Agent): a subscriber that hangs holds its own sockets, never another
 * subscription's. Close it when the subscription goes.
 *
 * A delivery is delivered when the answer's status line is a 2xx within the deadline: the status is
 * the subscriber's verdict. Its body is read, up to `maxResponseBytes` and the deadline, only so that
 * the connection can be reused; a body too large (or too slow) is cut by destroying the socket, and
 * the delivery still counts (sending it again would only make a duplicate of an accepted event).
 */
export class PushClient {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  /** Aborted by destroy(): fails what is in flight at once. */
  private readonly lifetime = new AbortController();
  private closed = false;

  constructor(private readonly options: PushClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
    const connectTimeout = Math.min(options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs, this.timeoutMs);
    const resolve = options.resolve ?? systemResolver;
    const ca = options.ca === undefined ? undefined : [...rootCertificates, ...[options.ca].flat()];
    this.agent = new Agent({
      connections: options.connections ?? DEFAULTS.connections,
      // Backstops: the deadline's abort signal is what ends a delivery.
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      // The parser destroys the socket past this: the bytes after it are never read.
      maxResponseSize: this.maxResponseBytes,
      // A pool per origin, whose lookup knows whether the allow-list names that origin's host literally.
      factory: (origin, poolOptions) => {
        const literal = this.options.allowList.match(new URL(String(origin)))?.wildcard === false;
        return new Pool(origin, {
          ...(poolOptions as Pool.Options),
          connect: { timeout: connectTimeout, rejectUnauthorized: true, ca, lookup: guardedLookup(resolve, literal) },
        });
      },
    });
  }

  async deliver(delivery: PushDelivery, signal?: AbortSignal): Promise<PushResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const allowed = this.options.allowList.check(delivery.url);
    if (!allowed.ok) throw new PushFailure('not-allowed', allowed.reason, { durationMs: elapsed() });
    const url = allowed.url;
    const target = `${url.origin}${url.pathname}`;
    const fail = (reason: PushFailureReason, detail: string, details: Omit<PushFailureDetails, 'durationMs'> = {}) =>
      new PushFailure(reason, `${target}: ${detail}`, { ...details, durationMs: elapsed() });

    if (this.closed) throw fail('aborted', 'the push client is closed');
    // An IP literal is connected to without a lookup: the same rule, here.
    const ip = literalAddress(url);
    if (ip && !connectAllowed(ip, allowed.entry.wildcard === false)) {
      throw fail('refused-address', refusal(url.hostname, ip));
    }

    if (signal?.aborted) throw fail('aborted', 'cancelled');
    const abort = abortable(this.timeoutMs, [this.lifetime.signal, signal]);
    try {
      const body = bodyBytes(delivery.body);
      const response = await request(url, {
        dispatcher: this.agent,
        method: 'POST',
        headers: this.headers(delivery, body),
        body,
        signal: abort.signal,
      });
      const excerpt = await this.readBody(response);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { status, durationMs: elapsed() };
      if (status >= 300 && status < 400) {
        const location = firstHeader(response.headers['location']);
        throw fail('redirect', `redirect to ${location ?? '(no Location)'} refused (${status})`, { status, location });
      }
      throw fail('http-status', `${status}${excerpt ? `: ${excerpt}` : ''}`, { status });
    } catch (error) {
      if (error instanceof PushFailure) throw error;
      if (abort.timedOut()) throw fail('timeout', `no answer within ${this.timeoutMs} ms`, { cause: error });
      if (this.lifetime.signal.aborted) throw fail('aborted', 'the push client was destroyed', { cause: error });
      if (signal?.aborted) throw fail('aborted', 'cancelled', { cause: error });
      const { reason, detail } = classify(error);
      throw fail(reason, detail, { cause: error });
    } finally {
      abort.release();
    }
  }

  /** Lets deliveries in flight finish (each within its deadline), then closes the sockets. */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.agent.closed && !this.agent.destroyed) await this.agent.close();
  }

  /** Fails deliveries in flight at once (`aborted`) and closes the sockets. */
  async destroy(): Promise<void> {
    this.closed = true;
    this.lifetime.abort(new Error('push client destroyed'));
    if (!this.agent.destroyed) await this.agent.destroy();
  }

  private headers(delivery: PushDelivery, body: Buffer): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(delivery.headers ?? {})) {
      if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
    }
    headers['content-type'] = PUSH_CONTENT_TYPE;
    headers['x-signature'] = signBody(delivery.secret, body);
    headers['user-agent'] = PUSH_USER_AGENT;
    return headers;
  }

  /**
   * Reads the answer's body up to `maxResponseBytes`, keeping only its start to quote in a failure.
   * A body announced larger is not read at all; one that turns out larger, or is cut by the
   * deadline, is destroyed (with its socket). Never throws: the status has been received already.
   */
  private async readBody(response: Dispatcher.ResponseData): Promise<string> {
    const { body } = response;
    const announced = Number(firstHeader(response.headers['content-length']) ?? NaN);
    if (announced > this.maxResponseBytes) {
      body.destroy();
      return `(a body of ${announced} bytes, not read)`;
    }
    const head: Buffer[] = [];
    let kept = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (kept < EXCERPT_BYTES) {
          head.push(chunk.subarray(0, EXCERPT_BYTES - kept));
          kept += Math.min(chunk.length, EXCERPT_BYTES - kept);
        }
      }
    } catch {
      // Too large (the parser's maxResponseSize), the deadline, a reset: what was read is enough.
      body.destroy();
    }
    return excerptOf(Buffer.concat(head));
  }
}

/**
 * net's `lookup` for the subscription's sockets: every address a connection may use is checked as
 * it is resolved, for each new connection, so a DNS answer that changes after the URL was accepted
 * (DNS rebinding) still cannot reach the inside. A name with any refused address is refused as a
 * whole: a mixed answer is an attempt, not a host to half-trust.
 */
function guardedLookup(resolve: Resolver, hostNamedLiterally: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const checked = resolve(hostname).then((addresses) => {
      const usable = addresses.filter((address) => family === 0 || address.family === family);
      if (usable.length === 0) {
        throw Object.assign(new Error(`${hostname} has no IPv${family || '4/6'} address`), { code: 'ENOTFOUND' });
      }
      const refused = usable.find((address) => !connectAllowed(address.address, hostNamedLiterally));
      if (refused) throw new RefusedAddressError(refusal(hostname, refused.address));
      return usable;
    });
    checked.then(
      (usable) => (options.all ? callback(null, [...usable]) : callback(null, usable[0].address, usable[0].family)),
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

/**
 * One delivery's abort signal: the deadline, or any of `parents` (destroy(), the caller). Listeners
 * rather than AbortSignal.any, so that nothing of a finished delivery stays hooked to the client's
 * lifetime signal; `release()` unhooks them and stops the timer.
 */
function abortable(timeoutMs: number, parents: ReadonlyArray<AbortSignal | undefined>) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => controller.abort(new Error('delivery aborted'));
  for (const parent of parents) parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    release: () => {
      clearTimeout(timer);
      for (const parent of parents) parent?.removeEventListener('abort', onAbort);
    },
  };
}

function refusal(host: string, address: string): string {
  const kind = internalAddressKind(address) ?? 'not an IP';
  return `${host} is ${address} (${kind}): an internal address is reached only through an allow-list entry naming the host literally`;
}

/** The IP address a URL names directly, without brackets; undefined for a name. */
function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : undefined;
}

function bodyBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string'
    ? Buffer.from(body, 'utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The start of a body, on one line, for a failure message. */
function excerptOf(bytes: Buffer): string {
  // Control characters (and the replacement character of a multi-byte sequence cut short) become spaces.
  return bytes
    .toString('utf8')
    .replace(/[\p{Cc}\ufffd\s]+/gu, ' ')
    .trim();
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** OpenSSL's verification codes and Node's TLS errors: CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID... */
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|^ERR_TLS_|^ERR_SSL_/;

/** An error as Node and undici throw them; duck-typed, as errors may come from another realm (Jest's vm). */
interface ErrorLike {
  message: string;
  code?: unknown;
  /** OpenSSL's errors: `SSL routines`, and what went wrong in a few words. */
  library?: unknown;
  reason?: unknown;
  /** AggregateError: one per address tried. */
  errors?: unknown;
  cause?: unknown;
}

/** The reason of a request that failed before a status: the most specific error of its chain decides. */
function classify(error: unknown): { reason: PushFailureReason; detail: string } {
  const chain = errorChain(error);
  const refused = chain.find((item) => item.code === RefusedAddressError.code);
  if (refused) return { reason: 'refused-address', detail: refused.message };
  const coded = chain.filter((item): item is ErrorLike & { code: string } => typeof item.code === 'string');
  const tls = coded.find((item) => TLS_CODE.test(item.code) || item.library === 'SSL routines');
  if (tls) {
    // OpenSSL's own messages are a line of internals; their `reason` is the readable part.
    const text = typeof tls.reason === 'string' ? tls.reason : tls.message;
    return { reason: 'tls', detail: `TLS: ${text} (${tls.code})` };
  }
  const timeout = coded.find((item) => TIMEOUT_CODES.has(item.code));
  if (timeout) return { reason: 'timeout', detail: timeout.message || timeout.code };
  // A system error (ECONNREFUSED, ENOTFOUND) says more than undici's wrapper of it.
  const first = coded.find((item) => !item.code.startsWith('UND_ERR_')) ?? coded[0] ?? chain[0];
  const message = first?.message || String(error);
  const code = first?.code;
  return { reason: 'connection', detail: code && !message.includes(String(code)) ? `${message} (${code})` : message };
}

/** The error, its causes and, for an AggregateError (each address tried), its errors. */
function errorChain(error: unknown, depth = 0): ErrorLike[] {
  if (typeof error !== 'object' || error === null || typeof (error as ErrorLike).message !== 'string' || depth > 5) {
    return [];
  }
  const item = error as ErrorLike;
  const inner = Array.isArray(item.errors) ? item.errors.flatMap((each) => errorChain(each, depth + 1)) : [];
  return [item, ...inner, ...errorChain(item.cause, depth + 1)];
}
