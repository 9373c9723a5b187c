import type { Message, Options } from 'amqplib';
import type { EventRegistry } from '@shop/contracts';
import {
  contentCodingOf,
  decodePayloadSync,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  UndecompressableError,
} from '../broker/payload-encoding';
import {
  attemptOf,
  copyProperties,
  DELIVERY_HEADERS,
  encodable,
  Headers,
  type ProducerAuthentication,
} from '../consume/queue-consumer';

/** One message waiting in a dead-letter queue, as `GET /admin/dead-letters` and the CLI show it. */
export interface DeadLetter {
  /** The consumer's queue (whose `<queue>.dlq` holds the message). */
  queue: string;
  /** The AMQP message id (the CloudEvent id), by which it is redriven; null when it has none. */
  messageId: string | null;
  /** The CloudEvent type (or the AMQP type when the body is not a CloudEvent). */
  type: string | null;
  /** Ours (`x-dead-letter-reason`: `retries-exhausted`, `rejected`, ...) or the broker's (`delivery_limit`). */
  reason: string;
  /** Handler attempts spent the last time (`x-attempt`). */
  attempts: number;
  /** The first time it was dead-lettered, kept across redrives (ISO 8601); null when unknown. */
  firstDeadLetteredAt: string | null;
  /** The last handler error (`x-exception-message`), when there was one. */
  error: string | null;
  /** Times it was redriven already. */
  redrives: number;
  /**
   * The CloudEvent (parsed JSON) when the body parses, else its text; cut at a bound either way. A
   * compressed body is shown decompressed; one that does not decompress (within the cap) as a line
   * in brackets that says so.
   */
  body: unknown;
}

/** Where the message first came from: the producer's exchange, routing key and broker user. */
export interface MessageOrigin {
  exchange?: string;
  routingKey?: string;
  userId?: string;
}

/** An entry of the broker's `x-death` header (it dead-lettered the message, or a delay queue expired it). */
interface Death {
  queue?: string;
  reason?: string;
  exchange?: string;
  'routing-keys'?: string[];
  time?: unknown;
}

/** A body larger than this is shown as (cut) text, not parsed. */
const MAX_SHOWN_BODY_BYTES = 64 * 1024;
/** Text bodies (and bodies too large to show parsed) are cut here. */
const MAX_SHOWN_TEXT = 4096;

/** Our headers of a failed delivery, and of an earlier redrive: a redriven copy starts afresh. */
const FAILURE_HEADERS: readonly string[] = [
  Headers.attempt,
  Headers.reason,
  Headers.error,
  Headers.errorType,
  Headers.failedAt,
  Headers.queue,
  Headers.originalExchange,
  Headers.originalRoutingKey,
  Headers.originalUserId,
  Headers.redriveCount,
  Headers.redrivenAt,
  Headers.firstDeadLetteredAt,
];

/**
 * A message read from `<queue>.dlq`, dead-lettered either by the consumer (with our headers: reason,
 * attempt, origin) or by the broker itself (`x-death`: the quorum queue's delivery limit), whose
 * properties are the delivery's as it was (its `user-id` the producer's, unless it was one of our
 * retries). Pure: what it shows, where it came from, and the copy a redrive sends back.
 */
export class DeadLetterMessage {
  private parsed?: { event: Record<string, unknown> | undefined };
  private decoded?: { body: Buffer; error?: UndecompressableError };

  constructor(
    readonly message: Message,
    /** The consumer's queue. */
    readonly queue: string,
    /** The app's retry exchange, through which its own retries and redrives come back. */
    private readonly retryExchange: string,
    /** The most a compressed body is decompressed to, as for the consumers. */
    private readonly maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  ) {}

  private get headers(): Record<string, unknown> {
    return (this.message.properties.headers ?? {}) as Record<string, unknown>;
  }

  /** The AMQP message id, else the CloudEvent's id. */
  get messageId(): string | undefined {
    const id: unknown = this.message.properties.messageId ?? this.event?.['id'];
    return typeof id === 'string' && id !== '' ? id : undefined;
  }

  /** The body as a JSON object (decompressed first when it says so); undefined when it is not one. */
  get event(): Record<string, unknown> | undefined {
    if (!this.parsed) {
      let event: Record<string, unknown> | undefined;
      try {
        const json: unknown = JSON.parse(this.text());
        if (json !== null && typeof json === 'object' && !Array.isArray(json)) event = json as Record<string, unknown>;
      } catch {
        event = undefined;
      }
      this.parsed = { event };
    }
    return this.parsed.event;
  }

  get type(): string | undefined {
    const type: unknown = this.event?.['type'] ?? this.message.properties.type;
    return typeof type === 'string' ? type : undefined;
  }

  get redrives(): number {
    const value = Number(this.headers[Headers.redriveCount] ?? 0);
    return Number.isInteger(value) && value >= 0 ? value : 0;
  }

  /** The broker's latest dead-lettering of it from the consumer's queue (`x-death` is newest first). */
  private get death(): Death | undefined {
    return this.deaths().find((death) => death.queue === this.queue);
  }

  get reason(): string {
    const reason = this.death?.reason ?? this.headers[Headers.reason];
    return typeof reason === 'string' && reason !== '' ? reason : 'unknown';
  }

  /** The first dead-lettering we can tell: kept by a redrive, else ours (`x-failed-at`) or the broker's. */
  get firstDeadLetteredAt(): string | undefined {
    const kept = isoTime(this.headers[Headers.firstDeadLetteredAt]);
    if (kept) return kept;
    const byBroker = this.deaths()
      .filter((death) => death.queue === this.queue)
      .map((death) => isoTime(death.time))
      .filter((time): time is string => time !== undefined)
      .sort()[0];
    return byBroker ?? isoTime(this.headers[Headers.failedAt]);
  }

  /**
   * Where it first came from. Dead-lettered by the consumer, or by the broker after coming back through
   * the retry exchange: our `x-original-*` headers. Dead-lettered by the broker on its first way in:
   * the exchange and routing key in `x-death`, and its own `user-id`, which RabbitMQ checked.
   */
  origin(): MessageOrigin {
    const death = this.death;
    if (death && death.exchange !== this.retryExchange) {
      return {
        exchange: death.exchange,
        routingKey: death['routing-keys']?.[0],
        userId: this.message.properties.userId as string | undefined,
      };
    }
    return {
      exchange: text(this.headers[Headers.originalExchange]),
      routingKey: text(this.headers[Headers.originalRoutingKey]),
      userId: text(this.headers[Headers.originalUserId]),
    };
  }

  /**
   * Why a redrive must not send it back, when the app checks producers: the copy goes through the
   * app's retry exchange under its own user, which its consumers trust, so only a message whose
   * original producer was the owner of its type may take that way. Undefined: it may.
   */
  unauthenticated(registry: EventRegistry, producers: ProducerAuthentication): string | undefined {
    const type = text(this.event?.['type']);
    if (type === undefined) return 'its body is not a CloudEvent, so its producer cannot be checked';
    const owner = registry.find(type)?.producer;
    if (owner === undefined) return `its type ${type} is unknown, so its producer cannot be checked`;
    const userId = this.origin().userId;
    if (userId === producers.userOf(owner)) return undefined;
    return (
      `${type} must come from ${producers.userOf(owner)}, ` +
      `but it came from ${userId === undefined ? 'no user-id' : JSON.stringify(userId)}`
    );
  }

  /**
   * The copy a redrive publishes: the same body and message id (so the inbox knows it), its origin
   * and first dead-lettering kept, attempt 1 again, without the old failure, counted as redriven.
   */
  redriveCopy(now: Date): { content: Buffer; options: Options.Publish & { messageId: string } } {
    const headers = { ...this.headers };
    for (const name of [...DELIVERY_HEADERS, ...FAILURE_HEADERS]) delete headers[name];
    const { exchange, routingKey, userId } = this.origin();
    const properties = copyProperties(this.message);
    return {
      content: this.message.content,
      options: {
        ...properties,
        messageId: this.messageId ?? properties.messageId,
        headers: encodable({
          ...headers,
          ...(exchange !== undefined && { [Headers.originalExchange]: exchange }),
          ...(routingKey !== undefined && { [Headers.originalRoutingKey]: routingKey }),
          ...(userId !== undefined && { [Headers.originalUserId]: userId }),
          [Headers.redriveCount]: this.redrives + 1,
          [Headers.redrivenAt]: now.toISOString(),
          [Headers.firstDeadLetteredAt]: this.firstDeadLetteredAt ?? now.toISOString(),
        }) as Record<string, unknown>,
      },
    };
  }

  /** What a listing shows of it. */
  view(): DeadLetter {
    const error = text(this.headers[Headers.error]);
    return {
      queue: this.queue,
      messageId: this.messageId ?? null,
      type: this.type ?? null,
      reason: this.reason,
      attempts: attemptOf(this.message),
      firstDeadLetteredAt: this.firstDeadLetteredAt ?? null,
      error: error ?? null,
      redrives: this.redrives,
      body: this.shownBody(),
    };
  }

  private shownBody(): unknown {
    const { body, error } = this.body();
    // compressed, and not decompressed: its bytes say nothing, why they are not shown does
    if (error && contentCodingOf(this.message.properties.contentEncoding) !== undefined) return `[${error.message}]`;
    const event = body.length <= MAX_SHOWN_BODY_BYTES ? this.event : undefined;
    if (event) return event;
    const text = this.text();
    return text.length > MAX_SHOWN_TEXT ? `${text.slice(0, MAX_SHOWN_TEXT)}…` : text;
  }

  /**
   * The body, decompressed (up to the cap) when its content-encoding says gzip or br; as it is when
   * it does not decompress, or when its content-encoding is none the consumers know (it may be text).
   */
  private body(): { body: Buffer; error?: UndecompressableError } {
    if (!this.decoded) {
      const { content, properties } = this.message;
      try {
        this.decoded = { body: decodePayloadSync(content, properties.contentEncoding, this.maxDecompressedBytes) };
      } catch (error) {
        if (!(error instanceof UndecompressableError)) throw error;
        this.decoded = { body: content, error };
      }
    }
    return this.decoded;
  }

  /** The body as text (decompressed when it says it is compressed, and it decompresses). */
  private text(): string {
    return this.body().body.toString('utf8');
  }

  private deaths(): Death[] {
    const deaths: unknown = this.headers['x-death'];
    return Array.isArray(deaths) ? deaths.filter((death): death is Death => !!death && typeof death === 'object') : [];
  }
}

function text(value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : undefined;
}

/** An ISO 8601 time from our header (a string) or an AMQP timestamp (seconds; amqplib's `{'!': 'timestamp'}`). */
function isoTime(value: unknown): string | undefined {
  if (value && typeof value === 'object' && (value as { '!'?: unknown })['!'] === 'timestamp') {
    const seconds = Number((value as { value: unknown }).value);
    return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : undefined;
  }
  const textual = text(value);
  if (textual === undefined) return undefined;
  const time = new Date(textual);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}
