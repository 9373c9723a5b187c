import { ContractError, EVENTS, decodeEvent, parseEnvelope, type AppName } from '@shop/contracts';
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

/** The consumer's decode (`decodeEvent(parseEnvelope(body))`), as its pipeline maps failures to reasons. */
export function decodeBody(body: Buffer): Decoded {
  try {
    const { event } = decodeEvent(parseEnvelope(body), EVENTS);
    return { ok: true, type: event.type, subject: event.subject, id: event.id };
  } catch (error) {
    if (error instanceof ContractError) return { ok: false, reason: error.reason, detail: error.message.slice(0, 200) };
    return { ok: false, reason: 'invalid-envelope', detail: String(error).slice(0, 200) };
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
  const owner = EVENTS.find(type)?.producer as AppName;
  if (userId === undefined || userId !== userOf(owner)) {
    return { kind: 'dead-letter', reason: 'unauthenticated-producer', detail: `${type} from ${userId ?? '(none)'}` };
  }
  if (!queue.accepts.has(type)) return { kind: 'dead-letter', reason: 'unexpected-type', detail: type };
  return { kind: 'handled', type };
}
