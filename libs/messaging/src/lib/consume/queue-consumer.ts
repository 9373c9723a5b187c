import { HttpException, Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import { isObservable, lastValueFrom } from 'rxjs';
import {
  ContractError,
  decodeEvent,
  parseEnvelope,
  parseTraceparent,
  type AppName,
  type CloudEvent,
  type EventRegistry,
} from '@shop/contracts';
import type { ConfirmPublisher } from '../broker/confirm-publisher';
import { decodePayload, DEFAULT_MAX_DECOMPRESSED_BYTES } from '../broker/payload-encoding';
import type { RetryPolicy } from '../messaging.options';
import type { Outbox } from '../outbox/outbox';
import { Topology, type Binding } from '../topology/topology';
import type { MessagingMetrics, SettledDelivery } from '../metrics/messaging-metrics';
import { isPromiseLike } from '../tracing/otel';
import { inProcessSpan } from './process-span';
import { unavailableDependency } from '../dependency-errors';
import { DeadLetterReason, DuplicateDeliveryError, NonRetryableError } from './errors';
import { publishedByOwner, type ProducerAuthentication } from './producer-authentication';

export type { ProducerAuthentication } from './producer-authentication';
import { AckBatch } from './ack-batch';
import { EventContext } from './event-context';
import { retryDelayMs } from './retry-policy';

/** Settles when the event is handled: a value, a promise, or (from Nest's pipeline) an Observable. */
export type EventHandler = (event: CloudEvent<unknown>, ctx: EventContext) => Promise<unknown> | unknown;

export interface ConsumerSpec {
  queue: string;
  bindings: Binding[];
  /** Event types this consumer takes; anything else that reaches its queue is dead-lettered. */
  acceptedTypes: ReadonlySet<string>;
  handler: EventHandler;
  /** For logs: Class.method. */
  handlerName: string;
  prefetch: number;
  concurrency: number;
  retry: RetryPolicy;
}

/** Headers this library sets on retried and dead-lettered copies. */
export const Headers = {
  attempt: 'x-attempt',
  /** Retries while a dependency (the database) was unreachable: they do not spend attempts. */
  outageRetries: 'x-outage-retries',
  originalExchange: 'x-original-exchange',
  originalRoutingKey: 'x-original-routing-key',
  reason: 'x-dead-letter-reason',
  error: 'x-exception-message',
  errorType: 'x-exception-type',
  failedAt: 'x-failed-at',
  queue: 'x-consumer-queue',
  /** The `user-id` the dead-lettered message arrived with (the copy carries the consumer's). */
  originalUserId: 'x-original-user-id',
  /** On a copy sent back from the dead-letter queue (DeadLetters.redrive): how many times, and when last. */
  redriveCount: 'x-redrive-count',
  redrivenAt: 'x-redriven-at',
  /** When the message was dead-lettered the first time, kept across redrives. */
  firstDeadLetteredAt: 'x-first-dead-lettered-at',
} as const;

/** What the broker and the retry path add to a delivery: never carried over to a copy of it. */
export const DELIVERY_HEADERS: readonly string[] = [
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
  Topology.delayHeader,
  Headers.outageRetries,
];

type Failure =
  /** `outage`: the handler found a dependency unreachable; the attempt is not spent. */
  | { kind: 'retry'; attempt: number; error: Error; outage?: 'database' | 'broker' }
  | { kind: 'dead-letter'; reason: DeadLetterReason; error: Error };
type Outcome = { kind: 'ack'; duplicate?: boolean } | Failure;

/**
 * One queue's consumer: manual acks, bounded concurrency, and a fixed pipeline around the handler:
 * parse -> validate -> upcast -> handle (in the trace of the event) -> ack | delayed retry | dead-letter.
 * A message is acknowledged only after its handler's transaction committed, or after its retry or
 * dead-letter copy was confirmed by the broker; nothing is dropped and nothing blocks the queue.
 */
export class QueueConsumer {
  private readonly logger: Logger;
  private channel?: Channel;
  /** The acknowledgements of the current channel, coalesced. */
  private acks?: AckBatch;
  private consumerTag?: string;
  /** Deliveries taken and not settled yet, waiting for a slot or handled. */
  private inFlight = 0;
  /** Resolved when `inFlight` drops to 0 (drain). */
  private drained: Array<() => void> = [];
  private readonly waiting: Array<() => void> = [];
  private active = 0;

  constructor(
    readonly spec: ConsumerSpec,
    private readonly app: AppName,
    private readonly registry: EventRegistry,
    private readonly publisher: ConfirmPublisher,
    private readonly outbox: Outbox,
    /** Called when the channel dies under us: the connection is recycled to recover it. */
    private readonly onChannelLost: (err: Error) => void,
    private readonly metrics?: MessagingMetrics,
    /** Unset: the app connects as a shared user (development) and cannot tell producers apart. */
    private readonly producers?: ProducerAuthentication,
    /** The most a compressed body may decompress to: past it, dead-lettered `undecompressable`. */
    private readonly maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  ) {
    this.logger = new Logger(`Consumer ${spec.queue}`);
  }

  async start(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => this.logger.warn(`channel error: ${err.message}`));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      if (this.consumerTag) this.onChannelLost(new Error(`consumer channel of ${this.spec.queue} closed`));
    });
    await channel.prefetch(this.spec.prefetch);
    this.channel = channel;
    const acks = (this.acks = new AckBatch(channel));
    const { consumerTag } = await channel.consume(
      this.spec.queue,
      (message) => this.onDelivery(channel, acks, message),
      {
        noAck: false,
      },
    );
    this.consumerTag = consumerTag;
  }

  /** Stop taking deliveries; what is in flight goes on. */
  async cancel(): Promise<void> {
    const { channel, consumerTag } = this;
    this.consumerTag = undefined;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Resolves when every handler started so far has settled its message. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  async close(): Promise<void> {
    this.acks?.flush();
    const channel = this.channel;
    this.channel = undefined;
    this.consumerTag = undefined;
    await channel?.close().catch(() => undefined);
  }

  /** The connection is gone: so are this consumer's channel and its unacked deliveries. */
  detach(): void {
    this.channel = undefined;
    this.consumerTag = undefined;
  }

  private onDelivery(channel: Channel, acks: AckBatch, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or failed over): recover through a reconnect.
      if (this.channel === channel)
        this.onChannelLost(new Error(`broker cancelled the consumer of ${this.spec.queue}`));
      return;
    }
    // Per delivery the pipeline costs as few promises as it can: each one is paid again in the
    // AsyncLocalStorage hooks TraceContext turns on. Slots and in-flight work are counted, not
    // awaited, and a delivery whose handler finished synchronously is acked without any promise.
    this.inFlight++;
    acks.delivered(message);
    if (this.active < this.spec.concurrency) this.process(acks, message);
    else this.waiting.push(() => this.process(acks, message));
  }

  /** Handles the delivery in a slot (all `concurrency` handlers busy: it waited for one) and settles it. */
  private process(acks: AckBatch, message: ConsumeMessage): void {
    this.active++;
    const seen: Seen = { startedAt: performance.now() };
    let handled: Outcome | Promise<Outcome>;
    try {
      handled = this.handle(message, seen);
    } catch (err) {
      this.finished();
      throw err;
    }
    if (handled instanceof Promise) handled.then((outcome) => this.settle(acks, message, seen, outcome));
    else this.settle(acks, message, seen, handled);
  }

  /** Acks, or publishes the retry or dead-letter copy first; then frees the slot. */
  private settle(acks: AckBatch, message: ConsumeMessage, seen: Seen, outcome: Outcome): void {
    this.record(message, seen, outcome);
    if (outcome.kind === 'ack') {
      acks.ack(message);
      this.finished();
      return;
    }
    void this.settleFailure(acks, message, outcome).finally(() => this.finished());
  }

  /** A delivery is settled: its slot goes to the longest-waiting delivery, and drain hears of it. */
  private finished(): void {
    this.active--;
    this.inFlight--;
    if (this.inFlight === 0 && this.drained.length > 0) {
      // Draining (shutdown): what is settled is acknowledged now, before the channel closes.
      this.acks?.flush();
      const drained = this.drained;
      this.drained = [];
      for (const resolve of drained) resolve();
    }
    this.waiting.shift()?.();
  }

  /** One log line and the metrics of a delivery, once its outcome is known. */
  private record(message: ConsumeMessage, seen: Seen, outcome: Outcome): void {
    const event = seen.event;
    const settled: SettledDelivery = {
      queue: this.spec.queue,
      eventType: event?.type ?? 'unknown',
      eventId: event?.id ?? (message.properties.messageId as string | undefined),
      orderId: event?.subject,
      traceId: parseTraceparent(seen.traceparent)?.traceId,
      attempt: attemptOf(message),
      outcome: outcome.kind === 'ack' ? (outcome.duplicate ? 'duplicate' : 'ack') : outcome.kind,
      reason: outcome.kind === 'dead-letter' ? outcome.reason : undefined,
      durationMs: performance.now() - seen.startedAt,
    };
    this.metrics?.record(settled);
    this.logger.log({
      msg: `${settled.eventType} ${settled.outcome}`,
      queue: settled.queue,
      event_type: settled.eventType,
      event_id: settled.eventId,
      order_id: settled.orderId,
      trace_id: settled.traceId,
      attempt: settled.attempt,
      outcome: settled.outcome,
      ...(settled.reason ? { reason: settled.reason } : {}),
      duration_ms: Math.round(settled.durationMs * 100) / 100,
    });
  }

  /** A failed delivery: acked once its retry or dead-letter copy is confirmed, else handed back. */
  private async settleFailure(acks: AckBatch, message: ConsumeMessage, outcome: Failure): Promise<void> {
    let exchange: string;
    let own: Record<string, unknown>;
    if (outcome.kind === 'retry') {
      // A dependency out of reach (the database) says nothing against the message: it keeps its
      // attempt and comes back after the policy's backoff (capped at its longest delay) for as long
      // as the outage lasts. Any other failure spends the attempt.
      const outageRetries = outcome.outage ? outageRetriesOf(message) + 1 : undefined;
      const delayMs = retryDelayMs(
        this.spec.retry,
        outageRetries ? Math.min(outageRetries, this.spec.retry.maxAttempts - 1) : outcome.attempt,
      );
      this.logger.warn(
        `${describe(message)} ` +
          (outageRetries
            ? `waits for the ${outcome.outage} (retry ${outageRetries} in ${delayMs} ms, attempt ${outcome.attempt} not spent)`
            : `failed attempt ${outcome.attempt}/${this.spec.retry.maxAttempts}, retrying in ${delayMs} ms`) +
          `: ${outcome.error.message}`,
      );
      exchange = Topology.delayExchange(this.app);
      own = {
        [Headers.attempt]: outageRetries ? outcome.attempt : outcome.attempt + 1,
        ...(outageRetries && { [Headers.outageRetries]: outageRetries }),
        [Topology.delayHeader]: String(delayMs),
        [Headers.error]: truncate(outcome.error.message),
      };
    } else {
      this.logger.error(`${describe(message)} dead-lettered (${outcome.reason}): ${outcome.error.message}`);
      exchange = Topology.deadLetterExchange(this.app);
      own = {
        [Headers.attempt]: attemptOf(message),
        [Headers.reason]: outcome.reason,
        [Headers.error]: truncate(outcome.error.message),
        [Headers.errorType]: outcome.error.name,
        [Headers.failedAt]: new Date().toISOString(),
        [Headers.queue]: this.spec.queue,
      };
    }
    const copy = (headers: Record<string, unknown>) =>
      this.publisher.publish(exchange, this.spec.queue, message.content, {
        ...copyProperties(message),
        headers: { ...headers, ...own },
      });
    try {
      const origin = originHeaders(message, Topology.retryExchange(this.app));
      await copy(origin).catch((err: unknown) => {
        // amqplib could not encode the sender's headers (too large with ours, say): the copy keeps
        // only where the message came from, rather than going round until the delivery limit.
        if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
        return copy(pick(origin, [Headers.originalExchange, Headers.originalRoutingKey, Headers.originalUserId]));
      });
      acks.ack(message);
    } catch (err) {
      // The retry or dead-letter copy was not confirmed: hand the message back, after a pause so
      // that a broker in trouble is not hammered. The quorum queue's delivery limit bounds this.
      this.logger.warn(`${describe(message)} returned to the queue: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      acks.nack(message);
    }
  }

  /**
   * The outcome, synchronously when the handler finished synchronously (or never ran) and the body is
   * plain or small. A compressed body is decompressed first, up to the cap (a large one off the event
   * loop).
   */
  private handle(message: ConsumeMessage, seen: Seen): Outcome | Promise<Outcome> {
    let body: Buffer | Promise<Buffer>;
    try {
      body = decodePayload(message.content, message.properties.contentEncoding, this.maxDecompressedBytes);
    } catch (err) {
      return undecompressable(err);
    }
    if (!(body instanceof Promise)) return this.handleBody(message, body, seen);
    return body.then((plain) => this.handleBody(message, plain, seen), undecompressable);
  }

  private handleBody(message: ConsumeMessage, body: Buffer, seen: Seen): Outcome | Promise<Outcome> {
    let event: CloudEvent<unknown>;
    let receivedVersion: number;
    try {
      const decoded = decodeEvent(parseEnvelope(body), this.registry);
      event = decoded.event;
      receivedVersion = decoded.receivedVersion;
      seen.event = event;
    } catch (err) {
      if (err instanceof ContractError) return { kind: 'dead-letter', reason: err.reason, error: err };
      return { kind: 'dead-letter', reason: 'invalid-envelope', error: err as Error };
    }
    const impostor = this.producers && this.unauthenticated(message, event.type);
    if (impostor) return { kind: 'dead-letter', reason: 'unauthenticated-producer', error: impostor };
    if (!this.spec.acceptedTypes.has(event.type)) {
      return {
        kind: 'dead-letter',
        reason: 'unexpected-type',
        error: new Error(`${this.spec.queue} does not take ${event.type}`),
      };
    }

    const attempt = attemptOf(message);
    const ctx = new EventContext(message, event.id, attempt, receivedVersion, this.spec.queue, this.outbox);
    const traceparent = parseTraceparent(String(message.properties.headers?.['traceparent'] ?? ''))
      ? String(message.properties.headers?.['traceparent'])
      : event.traceparent;
    seen.traceparent = traceparent;
    let result: unknown;
    try {
      result = inProcessSpan(
        event,
        this.spec.queue,
        message,
        { traceparent, tracestate: event.tracestate, causationId: event.id },
        () => this.spec.handler(event, ctx),
      );
    } catch (err) {
      return this.failed(message, attempt, err);
    }
    if (isObservable(result)) result = lastValueFrom(result, { defaultValue: undefined });
    else if (!isPromiseLike(result)) return ACK;
    const failed = (err: unknown) => this.failed(message, attempt, err);
    return (result instanceof Promise ? result : Promise.resolve(result)).then(
      // Nest's pipeline resolves to the handler's value, or to an Observable when an interceptor is
      // on it or an exception filter answered: that settles the delivery when it completes or errors.
      (value) => (isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }).then(acked, failed) : ACK),
      failed,
    );
  }

  /** Why the delivery's producer is not the owner of `type` (undefined when it is). */
  private unauthenticated(message: ConsumeMessage, type: string): Error | undefined {
    const producers = this.producers as ProducerAuthentication;
    const owner = this.registry.find(type)?.producer;
    const userId = message.properties.userId as string | undefined;
    if (publishedByOwner(producers, this.registry, type, userId)) return undefined;
    if (userId === producers.self && message.fields.exchange === Topology.retryExchange(this.app)) return undefined;
    return new Error(
      `${type} must be published by ${owner ? producers.userOf(owner) : 'its owner'}, ` +
        `but its user-id is ${userId === undefined ? 'missing' : JSON.stringify(userId)}`,
    );
  }

  private failed(message: ConsumeMessage, attempt: number, err: unknown): Outcome {
    const error = asError(err);
    if (error instanceof DuplicateDeliveryError) {
      return { kind: 'ack', duplicate: true };
    }
    // A refusal: the handler's (NonRetryableError), a guard's (Nest throws an RpcException when one
    // says no) or a pipe's (a 4xx HttpException, e.g. a ValidationPipe): retrying cannot help.
    if (error instanceof NonRetryableError || error instanceof RpcException) {
      return { kind: 'dead-letter', reason: 'rejected', error };
    }
    if (error instanceof HttpException && error.getStatus() < 500) {
      return { kind: 'dead-letter', reason: 'rejected', error };
    }
    const outage = unavailableDependency(err);
    if (outage && this.spec.retry.maxAttempts > 1) return { kind: 'retry', attempt, error, outage };
    if (attempt >= this.spec.retry.maxAttempts) return { kind: 'dead-letter', reason: 'retries-exhausted', error };
    return { kind: 'retry', attempt, error };
  }
}

const ACK: Outcome = Object.freeze({ kind: 'ack' });
const acked = (): Outcome => ACK;
const undecompressable = (error: unknown): Outcome => ({
  kind: 'dead-letter',
  reason: 'undecompressable',
  error: asError(error),
});

/** An Error for whatever was thrown; an RpcException keeps its own, with the message of its error. */
function asError(err: unknown): Error {
  if (err instanceof RpcException) {
    const inner = err.getError();
    if (typeof inner === 'object' && inner !== null && 'message' in inner) err.message = String(inner.message);
    return err;
  }
  if (err instanceof Error) return err;
  if (typeof err === 'object' && err !== null && 'message' in err) return new Error(String(err.message));
  return new Error(String(err));
}

/** What is known of a delivery while it is handled, for its log line and metrics. */
interface Seen {
  startedAt: number;
  event?: CloudEvent<unknown>;
  traceparent?: string;
}

function outageRetriesOf(message: ConsumeMessage): number {
  const value = Number(message.properties.headers?.[Headers.outageRetries] ?? 0);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

export function attemptOf(message: Message): number {
  const value = Number(message.properties.headers?.[Headers.attempt] ?? 1);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** Where the message first came from, kept across retries (which come back through `retryExchange`). */
function originHeaders(message: ConsumeMessage, retryExchange: string): Record<string, unknown> {
  const retried = message.fields.exchange === retryExchange;
  const headers = { ...(message.properties.headers ?? {}) };
  for (const name of DELIVERY_HEADERS) delete headers[name];
  const originalUserId: unknown = retried ? headers[Headers.originalUserId] : message.properties.userId;
  delete headers[Headers.originalUserId];
  return {
    ...(encodable(headers) as Record<string, unknown>),
    [Headers.originalExchange]: (retried && headers[Headers.originalExchange]) || message.fields.exchange,
    [Headers.originalRoutingKey]: (retried && headers[Headers.originalRoutingKey]) || message.fields.routingKey,
    ...(originalUserId !== undefined && { [Headers.originalUserId]: originalUserId }),
  };
}

/**
 * Header values as amqplib can encode them again: its decoder yields numbers its encoder refuses (NaN,
 * +-Infinity, a fraction at 2^50 and above, below -2^63) and tables with a `!` key, which the encoder
 * takes for a type tag. A retry or dead-letter copy of a message with such headers would fail to
 * publish, and the message would go round until the broker's delivery limit.
 */
export function encodable(value: unknown): unknown {
  if (typeof value === 'number') {
    const long = Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63;
    return long ? value : { '!': 'double', value };
  }
  if (Array.isArray(value)) return value.map(encodable);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    if (Object.hasOwn(value, '!')) {
      const tagged = value as { '!': unknown };
      return tagged['!'] === 'timestamp' || tagged['!'] === 'decimal' ? value : JSON.stringify(value);
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, encodable(item)]));
  }
  return value;
}

function pick(headers: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((name) => name in headers).map((name) => [name, headers[name]]));
}

export function copyProperties(message: Message) {
  const p = message.properties;
  return {
    messageId: String(p.messageId ?? `unidentified-${message.fields.deliveryTag}-${Date.now()}`),
    type: p.type,
    appId: p.appId,
    correlationId: p.correlationId,
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    timestamp: p.timestamp,
    // user-id is checked by the broker against the publishing connection: a copy carries this app's
    // (the publisher sets it), and the original producer stays in the dead-letter copy's headers.
  };
}

function describe(message: ConsumeMessage): string {
  return `${message.properties.type ?? message.fields.routingKey} ${message.properties.messageId ?? '(no id)'}`;
}

function truncate(text: string): string {
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}
