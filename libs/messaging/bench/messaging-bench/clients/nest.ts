/**
 * @nestjs/microservices, RMQ transport (amqp-connection-manager over amqplib).
 *
 * Publisher: a ClientRMQ (`ClientProxyFactory.create`) with `wildcards: true`, which is what makes
 * `emit(pattern, data)` publish to `exchange` (a topic exchange) with the pattern as routing key;
 * `persistent: true`. Its channel is amqp-connection-manager's, a confirm channel by default, and the
 * Observable `emit` returns completes once the broker confirmed: we wait for that. No `mandatory`
 * (the transport has no handling for returned messages). Body: `{"pattern":..., "data": <event>}`.
 *
 * Consumer: a Nest microservice (ServerRMQ) on the existing queue (`noAssert`), bound to the topic
 * exchange by `routingKey`, `prefetchCount`, `noAck: false`; an @EventPattern handler that counts and
 * acks through the RmqContext's channel. Both with TCP_NODELAY (`socketOptions`), as every client here.
 */
import 'reflect-metadata';
import { Controller, Inject, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  Ctx,
  EventPattern,
  Payload,
  RmqContext,
  RmqRecordBuilder,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { ConsumerClient, PublisherClient, Received } from '../drivers';
import { prebuiltEvent } from '../event';
import { SENT_AT_HEADER, type RunConfig } from '../protocol';

export async function publisher(config: RunConfig): Promise<PublisherClient> {
  const client: ClientProxy = ClientProxyFactory.create({
    transport: Transport.RMQ,
    options: {
      urls: [config.url],
      exchange: config.exchange,
      exchangeType: 'topic',
      wildcards: true,
      persistent: true,
      socketOptions: { connectionOptions: { noDelay: true } },
    },
  });
  await client.connect();
  const event = prebuiltEvent();
  const pattern = config.routingKey;

  const publish = (_seq: number, sentAt: number | undefined, done: (err?: unknown) => void): void => {
    const data =
      sentAt === undefined
        ? event
        : new RmqRecordBuilder(event).setOptions({ headers: { [SENT_AT_HEADER]: String(sentAt) } }).build();
    client.emit(pattern, data).subscribe({ complete: () => done(), error: (err: unknown) => done(err) });
  };

  return {
    publish,
    bodyBytes: Buffer.byteLength(JSON.stringify({ pattern, data: event })),
    close: () => client.close(),
  };
}

const RECEIVED = Symbol('received');
const LATENCY = Symbol('latency');

@Controller()
class BenchController {
  constructor(
    @Inject(RECEIVED) private readonly received: Received,
    @Inject(LATENCY) private readonly latency: boolean,
  ) {}

  @EventPattern('order.placed')
  handle(@Payload() _event: unknown, @Ctx() context: RmqContext): void {
    const message = context.getMessage() as ConsumeMessage;
    this.received(this.latency ? (message.properties.headers?.[SENT_AT_HEADER] as string | undefined) : undefined);
    (context.getChannelRef() as { ack(message: ConsumeMessage): void }).ack(message);
  }
}

@Module({})
class BenchConsumerModule {
  static with(received: Received, latency: boolean): DynamicModule {
    return {
      module: BenchConsumerModule,
      controllers: [BenchController],
      providers: [
        { provide: RECEIVED, useValue: received },
        { provide: LATENCY, useValue: latency },
      ],
    };
  }
}

export async function consumer(config: RunConfig, received: Received): Promise<ConsumerClient> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    BenchConsumerModule.with(received, config.kind === 'latency'),
    {
      transport: Transport.RMQ,
      options: {
        urls: [config.url],
        queue: config.queue,
        noAssert: true,
        exchange: config.exchange,
        exchangeType: 'topic',
        routingKey: config.routingKey,
        prefetchCount: config.prefetch,
        noAck: false,
        socketOptions: { connectionOptions: { noDelay: true } },
      },
      logger: false,
    },
  );
  await app.listen();
  return { close: () => app.close() };
}
