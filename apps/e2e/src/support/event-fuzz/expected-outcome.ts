import { ContractError, EVENTS, decodeEvent, parseEnvelope, publisherOf, type AppName } from '@shop/contracts';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { ConsumerQueue } from './consumer-queues';

/** What a consumer queue must do with a message: dead-letter it with a reason, or hand it to its handler. */
export type Expected = { kind: 'dead-letter'; reason: string; detail: string } | { kind: 'handled'; type: string };

export interface Decoded {
  ok: boolean;
  /** The contract's reason when not ok. */
  reason?: string;
  detail?: string;
  type?: string;
  subject?: string;
  id?: string;
}

/** What the apps decompress a body to at most (@shop/messaging's default MESSAGING_MAX_DECOMPRESSED_BYTES). */
const MAX_DECOMPRESSED_BYTES = 16 * 2 ** 20;

/**
 * The consumer's decode, as its pipeline maps failures to reasons: the body read as its AMQP
 * `content-encoding` says (none, empty, `identity`, `utf-8` or `utf8`: as it is; `gzip`, `x-gzip`,
 * `br`: decompressed, up to the cap; case-insensitively), else `undecompressable`; then
 * `decodeEvent(parseEnvelope(body))`.
 */
export function decodeBody(body: Buffer, contentEncoding?: unknown): Decoded {
  let plain: Buffer;
  try {
    plain = decompressed(body, contentEncoding);
  } catch (error) {
    return { ok: false, reason: 'undecompressable', detail: String(error).slice(0, 200) };
  }
  try {
    const { event } = decodeEvent(parseEnvelope(plain), EVENTS);
    return { ok: true, type: event.type, subject: event.subject, id: event.id };
  } catch (error) {
    if (error instanceof ContractError) return { ok: false, reason: error.reason, detail: error.message.slice(0, 200) };
    return { ok: false, reason: 'invalid-envelope', detail: String(error).slice(0, 200) };
  }
}

function decompressed(body: Buffer, contentEncoding: unknown): Buffer {
  const coding = contentEncoding === undefined || contentEncoding === null ? '' : contentEncoding;
  switch (typeof coding === 'string' ? coding.toLowerCase() : undefined) {
    case '':
    case 'identity':
    case 'utf-8':
    case 'utf8':
      return body;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    case 'br':
      return brotliDecompressSync(body, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    default:
      throw new Error(`content-encoding ${JSON.stringify(contentEncoding)} is none a consumer reads`);
  }
}

/**
 * What `queue` must do with a message whose body decodes to `decoded`, published with the AMQP
 * user-id `userId` (undefined: none): dead-letter it with a reason, or hand it to its handler.
 */
export function expectedOutcome(
  queue: ConsumerQueue,
  decoded: Decoded,
  userId: string | undefined,
  userOf: (app: AppName) => string,
): Expected {
  if (!decoded.ok) return { kind: 'dead-letter', reason: decoded.reason ?? '?', detail: decoded.detail ?? '' };
  const type = decoded.type as string;
  const owner = EVENTS.find(type)?.producer;
  if (userId === undefined || !owner || userId !== userOf(publisherOf(owner))) {
    return { kind: 'dead-letter', reason: 'unauthenticated-producer', detail: `${type} from ${userId ?? '(none)'}` };
  }
  if (!queue.accepts.has(type)) return { kind: 'dead-letter', reason: 'unexpected-type', detail: type };
  return { kind: 'handled', type };
}
