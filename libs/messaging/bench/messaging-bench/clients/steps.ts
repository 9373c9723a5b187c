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
import type { Options } from 'amqplib';
import { CLOUDEVENTS_CONTENT_TYPE, decodeEvent, EVENTS, OrderPlaced, parseEnvelope } from '@shop/contracts';
import { TraceContext } from '@shop/tracing';
import { outboxRow } from '../../../src/lib/outbox/outbox';
import type { ConsumerClient, PublisherClient, Received } from '../drivers';
import { ORDER_PLACED_DATA, prebuiltEvent, sentAtTracestate } from '../event';
import { SENT_AT_HEADER, type RunConfig } from '../protocol';
import { benchMetrics } from '../steps';
import { amqplibConsumer, amqplibPublisher } from './raw';

const APP = 'orders';

export function publisher(config: RunConfig): Promise<PublisherClient> {
  const trace = prebuiltEvent().traceparent as string;
  const sample = TraceContext.run({ traceparent: trace }, () =>
    outboxRow(EVENTS, APP, OrderPlaced.create(ORDER_PLACED_DATA)),
  );
  return amqplibPublisher(
    config,
    Buffer.byteLength(sample.body),
    (channel, _seq, sentAt, done) => {
      const event = OrderPlaced.create(
        ORDER_PLACED_DATA,
        sentAt === undefined ? undefined : { tracestate: sentAtTracestate(sentAt) },
      );
      const row = outboxRow(EVENTS, APP, event);
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
      return channel.publish(config.exchange, config.routingKey, Buffer.from(row.body, 'utf8'), options, (err) =>
        done(err),
      );
    },
    // As the library's publisher: events are stamped from a request's trace.
    (work) => TraceContext.run({ traceparent: trace }, work),
  );
}

export function consumer(config: RunConfig, received: Received): Promise<ConsumerClient> {
  const metrics = benchMetrics();
  return amqplibConsumer(config, received, (message) => {
    const startedAt = performance.now();
    const { event } = decodeEvent(parseEnvelope(message.content), EVENTS);
    metrics.record({
      queue: config.queue,
      eventType: event.type,
      outcome: 'ack',
      durationMs: performance.now() - startedAt,
    });
  });
}
