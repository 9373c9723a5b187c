import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
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
import type { RetryPolicy } from '../messaging.options';
import type { Outbox } from '../outbox/outbox';
import { Topology, type Binding } from '../topology/topology';
import { TraceContext } from '../tracing/trace-context';
import { DeadLetterReason, DuplicateDeliveryError, NonRetryableError } from './errors';
import { DeliveryContext, type EventContext } from './event-context';
import { retryDelayMs } from './retry-policy';

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
  originalExchange: 'x-original-exchange',
  originalRoutingKey: 'x-original-routing-key',
  reason: 'x-dead-letter-reason',
  error: 'x-exception-message',
  errorType: 'x-exception-type',
  failedAt: 'x-failed-at',
  queue: 'x-consumer-queue',
} as const;

type Outcome =
  | { kind: 'ack'; duplicate?: boolean }
  | { kind: 'retry'; attempt: number; error: Error }
  | { kind: 'dead-letter'; reason: DeadLetterReason; error: Error };

/**
 * One queue's consumer: manual acks, bounded concurrency, and a fixed pipeline around the handler:
 * parse -> validate -> upcast -> handle (in the trace of the event) -> ack | delayed retry | dead-letter.
 * A message is acknowledged only after its handler's transaction committed, or after its retry or
 * dead-letter copy was confirmed by the broker; nothing is dropped and nothing blocks the queue.
 */
export class QueueConsumer {
  private readonly logger: Logger;
  private channel?: Channel;
  private consumerTag?: string;
  private readonly inFlight = new Set<Promise<void>>();
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
    const { consumerTag } = await channel.consume(this.spec.queue, (message) => this.onDelivery(channel, message), {
      noAck: false,
    });
    this.consumerTag = consumerTag;
  }

  /** Stop taking deliveries; what is in flight goes on. */
  async cancel(): Promise<void> {
    const { channel, consumerTag } = this;
    this.consumerTag = undefined;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Resolves when every handler started so far has settled its message. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
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

  private onDelivery(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or failed over): recover through a reconnect.
      if (this.channel === channel)
        this.onChannelLost(new Error(`broker cancelled the consumer of ${this.spec.queue}`));
      return;
    }
    const work = this.withSlot(() => this.process(channel, message));
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async withSlot(work: () => Promise<void>): Promise<void> {
    if (this.active >= this.spec.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async process(channel: Channel, message: ConsumeMessage): Promise<void> {
    const outcome = await this.handle(message);
    try {
      if (outcome.kind === 'retry') {
        const delayMs = retryDelayMs(this.spec.retry, outcome.attempt);
        this.logger.warn(
          `${describe(message)} failed attempt ${outcome.attempt}/${this.spec.retry.maxAttempts}, ` +
            `retrying in ${delayMs} ms: ${outcome.error.message}`,
        );
        await this.publisher.publish(Topology.delayExchange(this.app), this.spec.queue, message.content, {
          ...copyProperties(message),
          headers: {
            ...originHeaders(message),
            [Headers.attempt]: outcome.attempt + 1,
            [Topology.delayHeader]: String(delayMs),
            [Headers.error]: truncate(outcome.error.message),
          },
        });
      } else if (outcome.kind === 'dead-letter') {
        this.logger.error(`${describe(message)} dead-lettered (${outcome.reason}): ${outcome.error.message}`);
        await this.publisher.publish(Topology.deadLetterExchange(this.app), this.spec.queue, message.content, {
          ...copyProperties(message),
          headers: {
            ...originHeaders(message),
            [Headers.attempt]: attemptOf(message),
            [Headers.reason]: outcome.reason,
            [Headers.error]: truncate(outcome.error.message),
            [Headers.errorType]: outcome.error.name,
            [Headers.failedAt]: new Date().toISOString(),
            [Headers.queue]: this.spec.queue,
          },
        });
      }
      settle(channel, () => channel.ack(message));
    } catch (err) {
      // The retry or dead-letter copy was not confirmed: hand the message back, after a pause so
      // that a broker in trouble is not hammered. The quorum queue's delivery limit bounds this.
      this.logger.warn(`${describe(message)} returned to the queue: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      settle(channel, () => channel.nack(message, false, true));
    }
  }

  private async handle(message: ConsumeMessage): Promise<Outcome> {
    let event: CloudEvent<unknown>;
    let receivedVersion: number;
    try {
      const decoded = decodeEvent(parseEnvelope(message.content), this.registry);
      event = decoded.event;
      receivedVersion = decoded.receivedVersion;
    } catch (err) {
      if (err instanceof ContractError) return { kind: 'dead-letter', reason: err.reason, error: err };
      return { kind: 'dead-letter', reason: 'invalid-envelope', error: err as Error };
    }
    if (!this.spec.acceptedTypes.has(event.type)) {
      return {
        kind: 'dead-letter',
        reason: 'unexpected-type',
        error: new Error(`${this.spec.queue} does not take ${event.type}`),
      };
    }

    const attempt = attemptOf(message);
    const ctx = new DeliveryContext(event.id, attempt, receivedVersion, this.spec.queue, this.outbox);
    const traceparent = parseTraceparent(String(message.properties.headers?.['traceparent'] ?? ''))
      ? String(message.properties.headers?.['traceparent'])
      : event.traceparent;
    try {
      await TraceContext.run({ traceparent, tracestate: event.tracestate, causationId: event.id }, () =>
        this.spec.handler(event, ctx),
      );
      return { kind: 'ack' };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (error instanceof DuplicateDeliveryError) {
        this.logger.log(`${describe(message)} already handled, acknowledged as a duplicate`);
        return { kind: 'ack', duplicate: true };
      }
      if (error instanceof NonRetryableError) return { kind: 'dead-letter', reason: 'rejected', error };
      if (attempt >= this.spec.retry.maxAttempts) return { kind: 'dead-letter', reason: 'retries-exhausted', error };
      return { kind: 'retry', attempt, error };
    }
  }
}

function attemptOf(message: ConsumeMessage): number {
  const value = Number(message.properties.headers?.[Headers.attempt] ?? 1);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** Where the message first came from, kept across retries. */
function originHeaders(message: ConsumeMessage): Record<string, unknown> {
  const headers = { ...(message.properties.headers ?? {}) };
  delete headers['x-death'];
  delete headers['x-first-death-exchange'];
  delete headers['x-first-death-queue'];
  delete headers['x-first-death-reason'];
  delete headers['x-last-death-exchange'];
  delete headers['x-last-death-queue'];
  delete headers['x-last-death-reason'];
  delete headers['x-delivery-count'];
  delete headers[Topology.delayHeader];
  return {
    ...headers,
    [Headers.originalExchange]: headers[Headers.originalExchange] ?? message.fields.exchange,
    [Headers.originalRoutingKey]: headers[Headers.originalRoutingKey] ?? message.fields.routingKey,
  };
}

function copyProperties(message: ConsumeMessage) {
  const p = message.properties;
  return {
    messageId: String(p.messageId ?? `unidentified-${message.fields.deliveryTag}-${Date.now()}`),
    type: p.type,
    appId: p.appId,
    correlationId: p.correlationId,
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    timestamp: p.timestamp,
    // user-id is checked by the broker against the publishing connection: a copy cannot keep it.
  };
}

function settle(channel: Channel, action: () => void): void {
  try {
    action();
  } catch {
    // The channel closed meanwhile: the broker redelivers the message, and the inbox spots a repeat.
  }
}

function describe(message: ConsumeMessage): string {
  return `${message.properties.type ?? message.fields.routingKey} ${message.properties.messageId ?? '(no id)'}`;
}

function truncate(text: string): string {
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}
