/**
 * Plain amqplib, the limit: the same bytes and the same AMQP properties as the library's relay, with
 * nothing built per message but the message id; a confirm channel with a callback per publish;
 * `drain` respected; TCP_NODELAY, as the library's connection. Consumer: prefetch, manual ack in the
 * delivery callback, nothing else.
 */
import { connect, type ConsumeMessage, type Options } from 'amqplib';
import { CLOUDEVENTS_CONTENT_TYPE, serializeEvent } from '@shop/contracts';
import type { ConsumerClient, PublisherClient, Received } from '../drivers';
import { prebuiltEvent } from '../event';
import { SENT_AT_HEADER, type RunConfig } from '../protocol';

export async function publisher(config: RunConfig): Promise<PublisherClient> {
  const model = await connect(config.url, { noDelay: true });
  const channel = await model.createConfirmChannel();
  const event = prebuiltEvent();
  const body = serializeEvent(event);
  const timestamp = Math.floor(Date.parse(event.time) / 1000);
  const traceparent = event.traceparent as string;

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
    const options: Options.Publish = {
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
    };
    writable = channel.publish(config.exchange, config.routingKey, body, options, (err: unknown) => done(err));
  };

  return {
    publish,
    bodyBytes: body.length,
    close: async () => {
      await channel.close().catch(() => undefined);
      await model.close().catch(() => undefined);
    },
  };
}

export async function consumer(config: RunConfig, received: Received): Promise<ConsumerClient> {
  const model = await connect(config.url, { noDelay: true });
  const channel = await model.createChannel();
  await channel.prefetch(config.prefetch);
  const latency = config.kind === 'latency';
  await channel.consume(
    config.queue,
    (message: ConsumeMessage | null) => {
      if (!message) return;
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
