/**
 * @golevelup/nestjs-rabbitmq (amqp-connection-manager over amqplib), in a Nest application context.
 *
 * Publisher: `AmqpConnection.publish(exchange, routingKey, event, { persistent: true })`; the module
 * asserts the topic exchange. Its channel is amqp-connection-manager's confirm channel, and the promise
 * `publish` returns settles on the broker's confirm: we wait for that. No `mandatory` handling.
 * Body: the event, JSON-serialized by the module's serializer.
 *
 * Consumer: a @RabbitSubscribe handler on the existing queue (`createQueueIfNotExists: false`), bound
 * to the exchange by routing key, the module's `prefetchCount`; the library acks after the handler
 * returns (automatic manual ack; an error nacks, a returned `Nack` nacks).
 */
import 'reflect-metadata';
import { AmqpConnection, RabbitMQModule, RabbitSubscribe } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ConsumerClient, PublisherClient, Received } from '../drivers';
import { prebuiltEvent } from '../event';
import { SENT_AT_HEADER, type RunConfig } from '../protocol';

function rabbitModule(config: RunConfig, registerHandlers: boolean): DynamicModule {
  return RabbitMQModule.forRoot({
    uri: config.url,
    exchanges: [{ name: config.exchange, type: 'topic', options: { durable: true } }],
    prefetchCount: config.prefetch,
    registerHandlers,
    connectionInitOptions: { wait: true, timeout: 20_000 },
    // TCP_NODELAY, as every client here.
    connectionManagerOptions: { connectionOptions: { noDelay: true } },
  });
}

export async function publisher(config: RunConfig): Promise<PublisherClient> {
  @Module({ imports: [rabbitModule(config, false)] })
  class BenchPublisherModule {}

  const app = await NestFactory.createApplicationContext(BenchPublisherModule, { logger: false });
  await app.init();
  const amqp = app.get(AmqpConnection);
  const event = prebuiltEvent();

  const publish = (_seq: number, sentAt: number | undefined, done: (err?: unknown) => void): void => {
    amqp
      .publish(
        config.exchange,
        config.routingKey,
        event,
        sentAt === undefined
          ? { persistent: true }
          : { persistent: true, headers: { [SENT_AT_HEADER]: String(sentAt) } },
      )
      .then(() => done(), done);
  };

  return {
    publish,
    bodyBytes: Buffer.byteLength(JSON.stringify(event)),
    close: () => app.close(),
  };
}

const RECEIVED = Symbol('received');
const LATENCY = Symbol('latency');

export async function consumer(config: RunConfig, received: Received): Promise<ConsumerClient> {
  @Injectable()
  class BenchSubscriber {
    constructor(
      @Inject(RECEIVED) private readonly count: Received,
      @Inject(LATENCY) private readonly latency: boolean,
    ) {}

    @RabbitSubscribe({
      exchange: config.exchange,
      routingKey: config.routingKey,
      queue: config.queue,
      createQueueIfNotExists: false,
    })
    handle(_event: unknown, _message: unknown, headers?: Record<string, unknown>): void {
      this.count(this.latency ? (headers?.[SENT_AT_HEADER] as string | undefined) : undefined);
    }
  }

  @Module({
    imports: [rabbitModule(config, true)],
    providers: [
      BenchSubscriber,
      { provide: RECEIVED, useValue: received },
      { provide: LATENCY, useValue: config.kind === 'latency' },
    ],
  })
  class BenchConsumerModule {}

  const app = await NestFactory.createApplicationContext(BenchConsumerModule, { logger: false });
  await app.init();
  return { close: () => app.close() };
}
