import { HttpException, Logger, type LogLevel } from '@nestjs/common';
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
import type { DeliveryOutcome, MessagingMetrics } from '../metrics/messaging-metrics';
import { isPromiseLike } from '../tracing/otel';
import { inProcessSpan } from './process-span';
import { unavailableDependency } from '../dependency-errors';
import { DeadLetterReason, DuplicateDeliveryError, NonRetryableError } from './errors';
import { publishedByOwner, type ProducerAuthentication } from './producer-authentication';

export type { ProducerAuthentication } from './producer-authentication';
import { AckBatch } from './ack-batch';
import { EventContext } from './event-context';
import { nextTry, type Tries } from './retry-policy';

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
  /**
   * Ordered by subject (`@ConsumeEvent({ ordered: 'subject' })`): the queue is `partitions` queues with
   * single active consumer, each consumed on a channel of its own with prefetch 1; a failed attempt
   * is retried in place. Every `rebalanceIntervalMs` (0: never) the partitions in use are shared out.
   */
  ordered?: { partitions: number; rebalanceIntervalMs: number };
  /** The handler's transactions may share a commit with others' (`@ConsumeEvent({ groupCommit })`). */
  groupCommit?: boolean;
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
 *
 * An ordered handler's consumer takes its partitions instead, each on a channel of its own with
 * prefetch 1: one message per partition at a time, acknowledged before the next is delivered, and a
 * failure retried in place (the partition waits), so the events of a subject are handled in order.
 */
export class QueueConsumer {
  private readonly logger: Logger;
  /** The queues it consumes, each on a channel of its own: the queue, or an ordered handler's partitions. */
  private sources: Source[] = [];
  /** What `start` consumes: the queue itself, or the partitions the topology declared (`consumeQueues`). */
  private queues: string[];
  /** The connection it consumes on now. */
  private model?: ChannelModel;
  /** `cancel` was called: it takes no more deliveries, and a delivery waiting to be retried goes back. */
  private cancelled = false;
  private rebalanceTimer?: NodeJS.Timeout;
  private rebalancing = false;
  /** Ordered: the channel of its consumer of `<queue>.members`, which makes it count as a replica. */
  private membership?: Channel;
  /** Handlers at once: ordered, one per partition (prefetch 1 each), so no other limit. */
  private readonly concurrency: number;
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
    this.queues = [spec.queue];
    this.concurrency = spec.ordered ? Infinity : spec.concurrency;
  }

  /** The queues `start` consumes: an ordered handler's partitions, as the topology declared them. */
  consumeQueues(queues: readonly string[]): void {
    this.queues = [...queues];
  }

  async start(model: ChannelModel): Promise<void> {
    this.model = model;
    for (const queue of this.queues) await this.open(model, queue);
    if (this.spec.ordered) await this.join(model);
    const interval = this.spec.ordered?.rebalanceIntervalMs;
    if (interval && !this.rebalanceTimer && this.queues.length > 1) {
      this.rebalanceTimer = setInterval(() => void this.rebalance(), interval);
      this.rebalanceTimer.unref();
    }
  }

  /** Consumes `queue` on a channel of its own. */
  private async open(model: ChannelModel, queue: string): Promise<Source> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => this.logger.warn(`channel error (${queue}): ${err.message}`));
    const source: Source = { queue, channel, acks: new AckBatch(channel), inFlight: 0, used: false, releasing: false };
    channel.on('close', () => {
      // Not when this consumer closed it (close, a partition handed over): its sources no longer list it.
      if (!this.sources.includes(source)) return;
      this.sources = this.sources.filter((other) => other !== source);
      if (source.consumerTag) this.onChannelLost(new Error(`consumer channel of ${queue} closed`));
    });
    // Ordered: one message per partition at a time, acknowledged before the next is delivered.
    await channel.prefetch(this.spec.ordered ? 1 : this.spec.prefetch);
    this.sources.push(source);
    const { consumerTag } = await channel.consume(queue, (message) => this.onDelivery(source, message), {
      noAck: false,
    });
    source.consumerTag = consumerTag;
    return source;
  }

  /**
   * Ordered: consumes `<queue>.members`, to which nothing is sent, so that the queue's consumer count
   * is the number of replicas (a partition's counts its active consumer only). Its loss is not fatal:
   * the replica is counted again after the next reconnect.
   */
  private async join(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => this.logger.warn(`members channel error: ${err.message}`));
    channel.on('close', () => {
      if (this.membership === channel) this.membership = undefined;
    });
    this.membership = channel;
    await channel.consume(Topology.membersQueue(this.spec.queue), (message) => message && channel.nack(message), {
      noAck: false,
    });
  }

  /** Leaves `<queue>.members`: no longer counted as a replica. */
  private async leave(): Promise<void> {
    const channel = this.membership;
    this.membership = undefined;
    await channel?.close().catch(() => undefined);
  }

  /**
   * Stop taking deliveries; what is in flight goes on. Ordered, the partitions are not cancelled: on a
   * queue with single active consumer a `basic.cancel` makes the next replica active at once, while the
   * handler in flight here has not committed, and it would handle the subject's next event first.
   * Instead what the partitions deliver from now on is left unacknowledged (a delivery waiting to be
   * retried in place too), and `close` closes their channels once the handlers in flight settled: the
   * broker puts what they hold back at the head of each partition before it makes another replica active.
   */
  async cancel(): Promise<void> {
    this.cancelled = true;
    this.stopRebalancing();
    await this.leave();
    if (this.spec.ordered) {
      for (const source of this.sources) source.releasing = true;
    } else {
      await Promise.all(
        this.sources.map(async (source) => {
          const consumerTag = source.consumerTag;
          source.consumerTag = undefined;
          if (consumerTag) await source.channel.cancel(consumerTag).catch(() => undefined);
        }),
      );
    }
    for (const source of this.sources) source.backoff?.();
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Resolves when every handler started so far has settled its message. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  async close(): Promise<void> {
    this.stopRebalancing();
    await this.leave();
    const sources = this.sources;
    this.sources = [];
    await Promise.all(
      sources.map(async (source) => {
        source.acks.flush();
        source.consumerTag = undefined;
        await source.channel.close().catch(() => undefined);
      }),
    );
  }

  /** The connection is gone: so are this consumer's channels and their unacked deliveries. */
  detach(): void {
    this.model = undefined;
    this.membership = undefined;
    const sources = this.sources;
    this.sources = [];
    for (const source of sources) {
      source.consumerTag = undefined;
      source.backoff?.();
    }
  }

  private onDelivery(source: Source, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or failed over): recover through a reconnect.
      if (this.sources.includes(source))
        this.onChannelLost(new Error(`broker cancelled the consumer of ${source.queue}`));
      return;
    }
    // A partition being handed over: left unacknowledged, it goes back to the head of its queue when
    // the channel closes, for the replica that takes the partition.
    if (source.releasing) return;
    // Per delivery the pipeline costs as few promises as it can: each one is paid again in the
    // AsyncLocalStorage hooks TraceContext turns on. Slots and in-flight work are counted, not
    // awaited, and a delivery whose handler finished synchronously is acked without any promise.
    this.inFlight++;
    source.inFlight++;
    source.used = true;
    source.acks.delivered(message);
    const tries: Tries = { attempt: attemptOf(message), outageRetries: outageRetriesOf(message) };
    if (this.active < this.concurrency) this.process(source, message, tries);
    else this.waiting.push(() => this.process(source, message, tries));
  }

  /** Handles the delivery in a slot (all `concurrency` handlers busy: it waited for one) and settles it. */
  private process(source: Source, message: ConsumeMessage, tries: Tries): void {
    this.active++;
    const seen: Seen = { startedAt: performance.now(), ...tries };
    let handled: Outcome | Promise<Outcome>;
    try {
      handled = this.handle(message, seen);
    } catch (err) {
      this.finished(source);
      throw err;
    }
    if (handled instanceof Promise) handled.then((outcome) => this.settle(source, message, seen, outcome));
    else this.settle(source, message, seen, handled);
  }

  /** Acks, or publishes the retry or dead-letter copy first (ordered: retries in place); then frees the slot. */
  private settle(source: Source, message: ConsumeMessage, seen: Seen, outcome: Outcome): void {
    this.record(message, seen, outcome);
    if (outcome.kind === 'ack') {
      source.acks.ack(message);
      this.finished(source);
      return;
    }
    if (outcome.kind === 'retry' && this.spec.ordered) {
      this.retryInPlace(source, message, seen, outcome);
      return;
    }
    void this.settleFailure(source.acks, message, seen, outcome).finally(() => this.finished(source));
  }

  /**
   * Ordered: the failed message is not sent to the back through a delay queue, where the later events
   * of its subject would overtake it. It stays unacknowledged, so its partition delivers nothing else,
   * and runs again after the backoff; after `maxAttempts` it is dead-lettered and the partition moves
   * on. Its slot is free while it waits. Cancelled (shutdown), its channel lost or its partition handed
   * over, it is left unacknowledged instead: it goes back to the head of the partition when the channel
   * closes, for whichever replica consumes it next.
   */
  private retryInPlace(source: Source, message: ConsumeMessage, seen: Seen, outcome: Failure & { kind: 'retry' }) {
    const { delayMs, next } = nextTry(this.spec.retry, seen, outcome.outage !== undefined);
    this.logger.warn(
      `${describe(message)} ${retryText(this.spec.retry, seen, next, delayMs, outcome.outage)} in place, ` +
        `holding ${source.queue}: ${outcome.error.message}`,
    );
    this.active--;
    this.waiting.shift()?.();
    const timer = setTimeout(() => wake(), delayMs);
    const wake = () => {
      clearTimeout(timer);
      source.backoff = undefined;
      if (!this.cancelled && !source.releasing && this.sources.includes(source)) {
        this.process(source, message, next);
        return;
      }
      // Not nacked: a nack would hand it straight back to this consumer, still the partition's active one.
      this.settled(source);
    };
    source.backoff = wake;
  }

  /** A delivery is settled: its slot goes to the longest-waiting delivery, and drain hears of it. */
  private finished(source: Source): void {
    this.active--;
    this.settled(source);
    this.waiting.shift()?.();
  }

  /** A delivery is settled (acknowledged, or handed back): drain and a partition's hand-over hear of it. */
  private settled(source: Source): void {
    this.inFlight--;
    source.inFlight--;
    if (source.inFlight === 0) {
      const idle = source.idle;
      source.idle = undefined;
      idle?.();
    }
    if (this.inFlight === 0 && this.drained.length > 0) {
      // Draining (shutdown): what is settled is acknowledged now, before the channel closes.
      for (const { acks } of this.sources) acks.flush();
      const drained = this.drained;
      this.drained = [];
      for (const resolve of drained) resolve();
    }
  }

  private stopRebalancing(): void {
    if (this.rebalanceTimer) clearInterval(this.rebalanceTimer);
    this.rebalanceTimer = undefined;
  }

  /**
   * Ordered: single active consumer makes the replica that subscribed first the active consumer of
   * every partition, and the others wait on them. So that the replicas share the work, a replica that
   * took deliveries from more partitions since the last look than its share (the partitions over the
   * replicas, counted as the consumers of `<queue>.members`: RabbitMQ counts only the active consumer of
   * a queue with single active consumer) hands the excess over:
   * it lets the partition's handler finish, closes the partition's channel (anything delivered after
   * that goes back to the head of the queue) and subscribes again, behind the replicas that waited;
   * the broker makes the first of them active. Idle partitions stay where they are.
   */
  private async rebalance(): Promise<void> {
    const model = this.model;
    if (!model || this.cancelled || this.rebalancing) return;
    this.rebalancing = true;
    try {
      const sources = this.sources.filter((source) => !source.releasing);
      const used = sources.filter((source) => source.used || source.inFlight > 0);
      for (const source of sources) source.used = false;
      if (used.length <= 1) return;
      const replicas = await consumersOf(model, Topology.membersQueue(this.spec.queue));
      const share = Math.ceil(this.queues.length / replicas);
      const excess = used.length - share;
      if (replicas <= 1 || excess <= 0) return;
      const handOver = shuffled(used.filter((source) => !source.backoff)).slice(0, excess);
      this.logger.log(
        `active on ${used.length} of ${this.queues.length} partitions, ${replicas} replicas: ` +
          `handing over ${handOver.map((source) => source.queue).join(', ')}`,
      );
      await Promise.all(handOver.map((source) => this.handOver(model, source)));
    } catch (error) {
      this.logger.warn(`rebalancing the partitions failed: ${(error as Error).message}`);
    } finally {
      this.rebalancing = false;
    }
  }

  /** Lets the partition's delivery in flight settle, closes its channel and subscribes to it again. */
  private async handOver(model: ChannelModel, source: Source): Promise<void> {
    source.releasing = true;
    if (source.inFlight > 0) await new Promise<void>((resolve) => (source.idle = resolve));
    source.acks.flush();
    if (!this.sources.includes(source)) return; // the channel was lost meanwhile
    this.sources = this.sources.filter((other) => other !== source);
    source.consumerTag = undefined;
    await source.channel.close().catch(() => undefined);
    if (this.model === model && !this.cancelled) await this.open(model, source.queue);
  }

  /** One log line and the metrics of a delivery, once its outcome is known. */
  private record(message: ConsumeMessage, seen: Seen, outcome: Outcome): void {
    const event = seen.event;
    const queue = this.spec.queue;
    const eventType = event?.type ?? 'unknown';
    const settled: DeliveryOutcome = outcome.kind === 'ack' ? (outcome.duplicate ? 'duplicate' : 'ack') : outcome.kind;
    const reason = outcome.kind === 'dead-letter' ? outcome.reason : undefined;
    const durationMs = performance.now() - seen.startedAt;
    this.metrics?.record({ queue, eventType, outcome: settled, reason, durationMs });
    // The line is built only when it is written (LOG_LEVEL log or finer): a busy consumer at warn
    // spends nothing on it.
    if (!logLinesEnabled()) return;
    this.logger.log({
      msg: `${eventType} ${settled}`,
      queue,
      event_type: eventType,
      event_id: event?.id ?? (message.properties.messageId as string | undefined),
      order_id: event?.subject,
      trace_id: parseTraceparent(seen.traceparent)?.traceId,
      attempt: seen.attempt,
      outcome: settled,
      ...(reason ? { reason } : {}),
      duration_ms: Math.round(durationMs * 100) / 100,
    });
  }

  /** A failed delivery: acked once its retry or dead-letter copy is confirmed, else handed back. */
  private async settleFailure(acks: AckBatch, message: ConsumeMessage, seen: Seen, outcome: Failure): Promise<void> {
    let exchange: string;
    let own: Record<string, unknown>;
    if (outcome.kind === 'retry') {
      // A dependency out of reach (the database) says nothing against the message: it keeps its
      // attempt and comes back after the policy's backoff (capped at its longest delay) for as long
      // as the outage lasts. Any other failure spends the attempt.
      const { delayMs, next } = nextTry(this.spec.retry, seen, outcome.outage !== undefined);
      this.logger.warn(
        `${describe(message)} ${retryText(this.spec.retry, seen, next, delayMs, outcome.outage)}: ${outcome.error.message}`,
      );
      exchange = Topology.delayExchange(this.app);
      own = {
        [Headers.attempt]: next.attempt,
        ...(next.outageRetries > 0 && { [Headers.outageRetries]: next.outageRetries }),
        [Topology.delayHeader]: String(delayMs),
        [Headers.error]: truncate(outcome.error.message),
      };
    } else {
      this.logger.error(`${describe(message)} dead-lettered (${outcome.reason}): ${outcome.error.message}`);
      exchange = Topology.deadLetterExchange(this.app);
      own = {
        [Headers.attempt]: seen.attempt,
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

    const attempt = seen.attempt;
    const ctx = new EventContext(
      message,
      event.id,
      attempt,
      receivedVersion,
      this.spec.queue,
      this.outbox,
      this.spec.groupCommit ? { key: event.subject } : undefined,
    );
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

/**
 * Whether Nest writes "log" lines: as the app set its levels (`Logger.overrideLogger`, as the apps'
 * bootstrap does from LOG_LEVEL), every level while none were set (Nest's default). Worked out again
 * only when the levels are set anew (a new array), not per delivery.
 */
function logLinesEnabled(): boolean {
  const levels = (Logger as unknown as { logLevels?: readonly LogLevel[] }).logLevels;
  if (levels !== logLevelsSeen || logLinesSeen === undefined) {
    logLevelsSeen = levels;
    logLinesSeen = levels === undefined || Logger.isLevelEnabled('log');
  }
  return logLinesSeen;
}
let logLevelsSeen: readonly LogLevel[] | undefined;
let logLinesSeen: boolean | undefined;

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

/** What is known of a delivery while it is handled, for its log line and metrics; and its tries so far. */
interface Seen extends Tries {
  startedAt: number;
  event?: CloudEvent<unknown>;
  traceparent?: string;
}

/** A queue consumed on a channel of its own. */
interface Source {
  queue: string;
  channel: Channel;
  /** The acknowledgements of the channel, coalesced. */
  acks: AckBatch;
  consumerTag?: string;
  /** Deliveries of this queue taken and not settled. */
  inFlight: number;
  /** Ordered: took a delivery since the last rebalance, so this replica is its active consumer. */
  used: boolean;
  /** Being handed over: what it delivers now is left to go back to the queue when its channel closes. */
  releasing: boolean;
  /** Resolves the hand-over's wait once `inFlight` drops to 0. */
  idle?: () => void;
  /** Ordered: a delivery waits out its backoff in place; calling this ends the wait at once. */
  backoff?: () => void;
}

function retryText(policy: RetryPolicy, tries: Tries, next: Tries, delayMs: number, outage?: string): string {
  return outage
    ? `waits for the ${outage} (retry ${next.outageRetries} in ${delayMs} ms, attempt ${tries.attempt} not spent)`
    : `failed attempt ${tries.attempt}/${policy.maxAttempts}, retrying in ${delayMs} ms`;
}

/** The consumers of `queue` (at least 1: this one). */
async function consumersOf(model: ChannelModel, queue: string): Promise<number> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  try {
    return Math.max(1, (await channel.checkQueue(queue)).consumerCount);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
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
