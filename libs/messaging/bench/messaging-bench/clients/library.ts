/**
 * This project's messaging library as production runs it, minus the database.
 *
 * Publisher: what a command does and then what the relay does, with the outbox table taken out:
 * `OrderPlaced.create` (zod validation), the outbox's "create" span and stamping (traceparent,
 * tracestate, causation id), `serializeEvent` into the row's body, and the relay's `publishRow`: its
 * "publish" span and metrics, the body as UTF-8 bytes with `relayProperties` (messageId, type, appId,
 * correlationId, content type and encoding, timestamp, traceparent/tracestate headers) through the
 * library's ConfirmPublisher (persistent, mandatory, resolved on the broker's confirm, rejected on nack
 * or return). No OpenTelemetry SDK is registered: spans are the API's no-ops, as with tracing off.
 *
 * Consumer: a `@ConsumeEvent` handler in a Nest app, run by Nest's pipeline through the library's
 * EventTransport and QueueConsumer: parse envelope, validate, upcast, the handler inside TraceContext,
 * manual ack after the handler, bounded concurrency.
 *
 * Large-event runs (`config.large`): the same, with a test event of many order lines (about
 * `large.bytes` of JSON) and the relay's compression off, gzip or brotli; the consumer decompresses.
 */
import { connect, type ChannelModel } from 'amqplib';
import { Controller, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { EVENTS, OrderPlaced, type EventDefinition } from '@shop/contracts';
import type { EventContext } from '../../../src/lib/consume/event-context';
import { ConfirmPublisher } from '../../../src/lib/broker/confirm-publisher';
import { QueueConsumer, type ConsumerSpec } from '../../../src/lib/consume/queue-consumer';
import { DEFAULT_RETRY } from '../../../src/lib/messaging.options';
import { DEFAULT_COMPRESS_MIN_BYTES } from '../../../src/lib/broker/payload-encoding';
import type { ConsumerHandler, MessagingService } from '../../../src/lib/messaging.service';
import { outboxRow, type Outbox } from '../../../src/lib/outbox/outbox';
import { publishRow } from '../../../src/lib/outbox/outbox-relay';
import { TraceContext } from '@shop/tracing';
import { ConsumeEvent } from '../../../src/lib/transport/consume-event.decorator';
import { EventTransport } from '../../../src/lib/transport/event-transport';
import type { EventOf } from '../../../src';
import { LARGE_EVENT_REGISTRY, largeOrderData, LargeOrderPlaced } from '../../../test/support/large-order';
import type { ConsumerClient, PublisherClient, Received } from '../drivers';
import { ORDER_PLACED_DATA, sentAtFromTracestate, sentAtTracestate } from '../event';
import type { RunConfig } from '../protocol';
import { benchMetrics } from '../steps';

const APP = 'orders';

/** What a run publishes: the smallest order.placed, or the large test event (and how it is compressed). */
function workload(config: RunConfig) {
  const large = config.large;
  if (!large) {
    return {
      registry: EVENTS,
      definition: OrderPlaced as EventDefinition,
      data: ORDER_PLACED_DATA as unknown,
      compression: undefined,
    };
  }
  return {
    registry: LARGE_EVENT_REGISTRY,
    definition: LargeOrderPlaced as EventDefinition,
    data: largeOrderData(large.bytes, ORDER_PLACED_DATA.orderId) as unknown,
    // as the apps run by default: bodies over 8 KiB compressed
    compression:
      large.compression === 'off' ? undefined : { minBytes: DEFAULT_COMPRESS_MIN_BYTES, encoding: large.compression },
  };
}

export async function publisher(config: RunConfig): Promise<PublisherClient> {
  const model = await connect(config.url, { noDelay: true }); // as MessagingService connects
  const channel = await model.createConfirmChannel();
  const confirmPublisher = new ConfirmPublisher();
  confirmPublisher.attach(channel);
  const metrics = benchMetrics(() => confirmPublisher.connected);
  const { registry, definition, data, compression } = workload(config);
  const sample = outboxRow(registry, APP, definition.create(data));

  const publish = (seq: number, sentAt: number | undefined, done: (err?: unknown) => void): void => {
    // The command: a new event of the contracts, validated.
    const event = definition.create(data, sentAt === undefined ? undefined : { tracestate: sentAtTracestate(sentAt) });
    // Outbox.publish, then the relay's publish of the committed row, without the table in between.
    publishRow(confirmPublisher, outboxRow(registry, APP, event), APP, metrics, compression, done);
  };

  return {
    publish,
    // Events are published from a request's trace (the HTTP middleware starts one): each is a child span.
    inContext: (work) => TraceContext.run({ traceparent: sample.traceparent ?? undefined }, work),
    bodyBytes: Buffer.byteLength(sample.body),
    savedBytes: async () =>
      (await metrics.compressionSavedBytes.get()).values.reduce((sum, sample) => sum + sample.value, 0),
    close: async () => {
      await channel.close().catch(() => undefined);
      await model.close().catch(() => undefined);
    },
  };
}

/**
 * QueueConsumer wants the app's Outbox for `ctx.transaction`. This handler does not call it (it only counts; the database's cost is the saga benchmark's business), so it gets a
 * stand-in that has no database and says so if anything ever reaches for one.
 */
const outboxWithoutDatabase = {
  transaction: () => Promise.reject(new Error('benchmark consumer: no database behind this outbox')),
  publish: () => Promise.reject(new Error('benchmark consumer: no database behind this outbox')),
} as unknown as Outbox;

export async function consumer(config: RunConfig, received: Received): Promise<ConsumerClient> {
  const model: ChannelModel = await connect(config.url, { noDelay: true }); // as MessagingService connects
  let failure: Error | undefined;
  // Retry and dead-letter copies go through a ConfirmPublisher, as in production (none is expected here).
  const publisherChannel = await model.createConfirmChannel();
  const confirmPublisher = new ConfirmPublisher();
  confirmPublisher.attach(publisherChannel);

  const latency = config.kind === 'latency';
  // As production runs at LOG_LEVEL=warn: the per-event line ("log" level) is not written; the
  // metrics are counted as in production.
  Logger.overrideLogger(['error', 'warn']);
  const metrics = benchMetrics(() => confirmPublisher.connected);

  // The handler as an app writes it, run by Nest's pipeline through the library's transport.
  @Controller()
  class BenchCounter {
    @ConsumeEvent(OrderPlaced, {
      queue: config.queue,
      prefetch: config.prefetch,
      // As many handlers at once as deliveries may be outstanding: the other clients do not limit it either.
      concurrency: config.prefetch,
    })
    handle(@Payload() _event: EventOf<typeof OrderPlaced>, @Ctx() _ctx: EventContext): void {
      received(latency ? sentAtFromTracestate(TraceContext.current()?.tracestate) : undefined);
    }
  }
  /** The same handler, of the large test event. */
  @Controller()
  class LargeBenchCounter {
    @ConsumeEvent(LargeOrderPlaced, { queue: config.queue, prefetch: config.prefetch, concurrency: config.prefetch })
    handle(@Payload() _event: EventOf<typeof LargeOrderPlaced>, @Ctx() _ctx: EventContext): void {
      received(latency ? sentAtFromTracestate(TraceContext.current()?.tracestate) : undefined);
    }
  }
  const { registry, definition } = workload(config);
  @Module({ controllers: [config.large ? LargeBenchCounter : BenchCounter] })
  class BenchModule {}

  // EventTransport hands the Nest-wrapped handler to MessagingService.consume; here a stand-in takes
  // it and runs the library's QueueConsumer with it, without MessagingService's database.
  let queueConsumer: QueueConsumer | undefined;
  const messaging = {
    consume: async ([handler]: ConsumerHandler[]) => {
      const spec: ConsumerSpec = {
        queue: config.queue,
        bindings: [{ exchange: APP, routingKey: config.routingKey }],
        acceptedTypes: new Set([definition.type]),
        handler: handler.handle,
        handlerName: handler.declaration.handlerName,
        prefetch: config.prefetch,
        concurrency: config.prefetch,
        retry: DEFAULT_RETRY,
      };
      queueConsumer = new QueueConsumer(
        spec,
        'inventory',
        registry,
        confirmPublisher,
        outboxWithoutDatabase,
        (err) => {
          failure = err;
          process.send?.({ type: 'error', message: `consumer channel lost: ${err.message}` });
        },
        metrics,
      );
      await queueConsumer.start(model);
    },
  } as unknown as MessagingService;
  const app = await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
  app.connectMicroservice({ strategy: new EventTransport(messaging) });
  await app.startAllMicroservices();
  await app.init();
  return {
    close: async () => {
      await queueConsumer?.cancel();
      await queueConsumer?.drain();
      await queueConsumer?.close();
      await app.close();
      await publisherChannel.close().catch(() => undefined);
      await model.close().catch(() => undefined);
      if (failure) throw failure;
    },
  };
}
