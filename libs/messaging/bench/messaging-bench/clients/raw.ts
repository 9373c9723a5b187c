/**
 * Plain amqplib, the limit: the same bytes and the same AMQP properties as the library's relay, with
 * nothing built per message but the message id; a confirm channel with a callback per publish;
 * `drain` respected; TCP_NODELAY, as the library's connection. Consumer: prefetch, manual ack in the
 * delivery callback, nothing else.
 */
import { connect, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { CLOUDEVENTS_CONTENT_TYPE, serializeEvent } from '@shop/contracts';
import type { ConsumerClient, PublisherClient, Received } from '../drivers';
import { prebuiltEvent } from '../event';
import { SENT_AT_HEADER, type RunConfig } from '../protocol';

export async function publisher(config: RunConfig): Promise<PublisherClient> {
  const event = prebuiltEvent();
  const body = serializeEvent(event);
  const timestamp = Math.floor(Date.parse(event.time) / 1000);
  const traceparent = event.traceparent as string;
  return amqplibPublisher(config, body.length, (channel, seq, sentAt, done) =>
    channel.publish(
      config.exchange,
      config.routingKey,
      body,
      {
        persistent: true,
        mandatory: true,
        messageId: String(seq),
        type: event.type,
        appId: 'orders',
        correlationId: event.subject,
        contentType: CLOUDEVENTS_CONTENT_TYPE,
        contentEncoding: 'utf-8',
        timestamp,
        headers: sentAt === undefined ? { traceparent } : { traceparent, [SENT_AT_HEADER]: String(sentAt) },
      },
      (err: unknown) => done(err),
    ),
  );
}

export function consumer(config: RunConfig, received: Received): Promise<ConsumerClient> {
  return amqplibConsumer(config, received);
}

/**
 * One publish on the confirm channel, as `channel.publish` answers it: whether the channel takes more
 * before its drain. `done` is the confirm callback.
 */
export type PublishOne = (
  channel: ConfirmChannel,
  seq: number,
  sentAt: number | undefined,
  done: (err?: unknown) => void,
) => boolean;

/**
 * A plain amqplib publisher around `publishOne`: its own connection (TCP_NODELAY, as the library's) and
 * confirm channel, `drain` respected (publishes past a full buffer wait for it, in order). Nothing per
 * message but what `publishOne` does.
 */
export async function amqplibPublisher(
  config: RunConfig,
  bodyBytes: number,
  publishOne: PublishOne,
  inContext?: PublisherClient['inContext'],
): Promise<PublisherClient> {
  const model = await connect(config.url, { noDelay: true });
  const channel = await model.createConfirmChannel();
  let writable = true;
  const blocked: Array<() => void> = [];
  channel.on('drain', () => {
    writable = true;
    while (writable && blocked.length > 0) blocked.shift()?.();
  });

  const publish = (seq: number, sentAt: number | undefined, done: (err?: unknown) => void): void => {
    if (!writable) {
      blocked.push(() => publish(seq, sentAt, done));
      return;
    }
    writable = publishOne(channel, seq, sentAt, done);
  };

  return {
    publish,
    ...(inContext && { inContext }),
    bodyBytes,
    close: async () => {
      await channel.close().catch(() => undefined);
      await model.close().catch(() => undefined);
    },
  };
}

/**
 * A plain amqplib consumer: prefetch, manual ack in the delivery callback after `handle` (if any), the
 * send time of a latency run from its header.
 */
export async function amqplibConsumer(
  config: RunConfig,
  received: Received,
  handle?: (message: ConsumeMessage) => void,
): Promise<ConsumerClient> {
  const model = await connect(config.url, { noDelay: true });
  const channel = await model.createChannel();
  await channel.prefetch(config.prefetch);
  const latency = config.kind === 'latency';
  await channel.consume(
    config.queue,
    (message: ConsumeMessage | null) => {
      if (!message) return;
      handle?.(message);
      channel.ack(message);
      received(latency ? (message.properties.headers?.[SENT_AT_HEADER] as string | undefined) : undefined);
    },
    { noAck: false },
  );
  return {
    close: async () => {
      await channel.close().catch(() => undefined);
      await model.close().catch(() => undefined);
    },
  };
}
