/**
 * Raw amqplib doing the steps the targets require and nothing of the library's own: the floor under
 * the library's CPU, measured in the same rounds as the others rather than timed alone in a tight loop
 * (the floor table), where caches stay warm and nothing else runs between the calls.
 *
 * Publisher: per message what the library's publisher must do (the floor table's steps, the same code):
 * `OrderPlaced.create` (zod validation), the outbox row (trace stamped, JSON text) in a request's trace,
 * its text as UTF-8 bytes; then raw's publish with the row's properties. No span, no metric, no
 * ConfirmPublisher, no relay bookkeeping.
 *
 * Consumer: raw's, plus the envelope parsed and checked, the data validated and upcast, and the
 * delivery counted and timed in the library's metrics, before the ack. No Nest pipeline, no trace
 * context, no retry or dead-letter machinery.
 */
import { connect, type ConsumeMessage, type Options } from 'amqplib';
import { CLOUDEVENTS_CONTENT_TYPE, decodeEvent, EVENTS, OrderPlaced, parseEnvelope } from '@shop/contracts';
import { TraceContext } from '@shop/tracing';
import { MessagingMetrics } from '../../../src/lib/metrics/messaging-metrics';
import { outboxRow } from '../../../src/lib/outbox/outbox';
import type { ConsumerClient, PublisherClient, Received } from '../drivers';
import { ORDER_PLACED_DATA, prebuiltEvent, sentAtTracestate } from '../event';
import { SENT_AT_HEADER, type RunConfig } from '../protocol';

const APP = 'orders';

export async function publisher(config: RunConfig): Promise<PublisherClient> {
  const model = await connect(config.url, { noDelay: true });
  const channel = await model.createConfirmChannel();
  const trace = prebuiltEvent().traceparent as string;
  const sample = TraceContext.run({ traceparent: trace }, () =>
    outboxRow(EVENTS, APP, OrderPlaced.create(ORDER_PLACED_DATA)),
  );

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
    const event = OrderPlaced.create(
      ORDER_PLACED_DATA,
      sentAt === undefined ? undefined : { tracestate: sentAtTracestate(sentAt) },
    );
    const row = outboxRow(EVENTS, APP, event);
    const content = Buffer.from(row.body, 'utf8');
    const options: Options.Publish = {
      persistent: true,
      mandatory: true,
      messageId: row.id,
      type: row.routing_key,
      appId: APP,
      correlationId: row.subject,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      contentEncoding: 'utf-8',
      timestamp: Math.floor(Date.parse(event.time) / 1000),
      headers:
        sentAt === undefined
          ? { traceparent: row.traceparent }
          : { traceparent: row.traceparent, [SENT_AT_HEADER]: String(sentAt) },
    };
    writable = channel.publish(config.exchange, config.routingKey, content, options, (err: unknown) => done(err));
  };

  return {
    publish,
    // As the library's publisher: events are stamped from a request's trace.
    inContext: (work) => TraceContext.run({ traceparent: trace }, work),
    bodyBytes: Buffer.byteLength(sample.body),
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
  const metrics = new MessagingMetrics({
    outbox: async () => ({ backlog: 0, oldestAgeSeconds: 0 }),
    connected: () => true,
  });
  const latency = config.kind === 'latency';
  await channel.consume(
    config.queue,
    (message: ConsumeMessage | null) => {
      if (!message) return;
      const startedAt = performance.now();
      const { event } = decodeEvent(parseEnvelope(message.content), EVENTS);
      metrics.record({
        queue: config.queue,
        eventType: event.type,
        outcome: 'ack',
        durationMs: performance.now() - startedAt,
      });
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
