import 'reflect-metadata';
import { Logger, type INestApplication, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { DataSource } from 'typeorm';
import type { AppName } from '@shop/contracts';
import {
  MessagingModule,
  MessagingService,
  messagingMigrations,
  Outbox,
  rabbitmqDefinitions,
  rabbitmqPasswordHash,
  startEventTransport,
  type MessagingOptions,
  type RabbitmqDefinitions,
} from '../../src';

export interface RunningApp {
  module: TestingModule;
  app: INestApplication;
  messaging: MessagingService;
  outbox: Outbox;
  dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * A Nest app with TypeORM and the messaging library, as the services run it (the handlers a
 * microservice on EventTransport), against the test's own vhost and database. No HTTP listener.
 */
export async function startApp(options: {
  app: AppName;
  brokerUrl: string;
  databaseUrl: string;
  handlers?: Type[];
  providers?: unknown[];
  messaging?: Partial<MessagingOptions>;
  /** false: resolve once started, connected or not (for a broker meant to refuse the app). */
  waitForConnection?: boolean;
}): Promise<RunningApp> {
  Logger.overrideLogger(process.env['DEBUG_MESSAGING'] ? ['log', 'warn', 'error'] : false);
  const module = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: options.databaseUrl,
        migrations: messagingMigrations,
        migrationsRun: true,
        extra: { max: 10 },
      }),
      MessagingModule.forRoot({ app: options.app, url: options.brokerUrl, ...options.messaging }),
    ],
    controllers: options.handlers ?? [],
    providers: (options.providers ?? []) as never[],
  }).compile();
  const app = module.createNestApplication({ logger: false });
  try {
    await startEventTransport(app);
    await app.init();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const messaging = module.get(MessagingService);
  if (options.waitForConnection !== false) await messaging.whenConnected();
  return {
    module,
    app,
    messaging,
    outbox: module.get(Outbox),
    dataSource: module.get(DataSource),
    close: () => app.close(),
  };
}

/** A plain amqplib client on the test's vhost: what an outsider (or a misbehaving producer) does. */
/**
 * The generated users of a test's vhost (`<prefix><app>`, least privilege), plus a user that may set any
 * user-id (RabbitMQ's impersonator tag, password `impersonator`): a forger with the broker's blessing.
 */
export function definitionsWithImpersonator(
  vhost: string,
  passwords: Record<AppName, string>,
  prefix: string,
): RabbitmqDefinitions {
  const definitions = rabbitmqDefinitions({ vhost, passwords, userPrefix: prefix });
  definitions.users.push({
    name: `${prefix}impersonator`,
    password_hash: rabbitmqPasswordHash('impersonator'),
    hashing_algorithm: 'rabbit_password_hashing_sha256',
    tags: ['impersonator'],
  });
  definitions.permissions.push({ user: `${prefix}impersonator`, vhost, configure: '', write: '.*', read: '' });
  return definitions;
}

export class RawBroker {
  private constructor(
    private readonly model: ChannelModel,
    readonly channel: Channel,
  ) {}

  static async open(url: string): Promise<RawBroker> {
    const model = await connect(url);
    const channel = await model.createConfirmChannel();
    return new RawBroker(model, channel);
  }

  async publish(exchange: string, routingKey: string, body: Buffer | string, properties: Record<string, unknown> = {}) {
    const channel = this.channel as import('amqplib').ConfirmChannel;
    channel.publish(exchange, routingKey, Buffer.isBuffer(body) ? body : Buffer.from(body), {
      persistent: true,
      contentType: 'application/cloudevents+json',
      ...properties,
    });
    await channel.waitForConfirms();
  }

  /** A queue of the test's own, bound like a subscriber would be. */
  async tap(exchange: string, routingKey: string): Promise<string> {
    await this.channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await this.channel.assertQueue('', { exclusive: true });
    await this.channel.bindQueue(queue, exchange, routingKey);
    return queue;
  }

  /** A spare channel, for operations the broker may refuse (a refusal closes the channel). */
  async spareChannel(): Promise<Channel> {
    const channel = await this.model.createChannel();
    channel.on('error', () => undefined);
    return channel;
  }

  /** A durable quorum queue of the test's own: it outlives connections and broker restarts. */
  async tapDurable(name: string, exchange: string, routingKey: string): Promise<string> {
    await this.channel.assertExchange(exchange, 'topic', { durable: true });
    await this.channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await this.channel.bindQueue(name, exchange, routingKey);
    return name;
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /** Takes every message now in the queue (acknowledged). */
  async drain(queue: string): Promise<GetMessage[]> {
    const messages: GetMessage[] = [];
    for (;;) {
      const message = await this.channel.get(queue, { noAck: true });
      if (!message) return messages;
      messages.push(message);
    }
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The current value of one of the app's messaging counters, summed over the series matching `labels`. */
export async function counterValue(
  app: RunningApp,
  counter: 'consumed' | 'retried' | 'deadLettered' | 'duplicates',
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await app.messaging.metrics[counter].get();
  return values
    .filter((sample) =>
      Object.entries(labels).every(([key, value]) => (sample.labels as Record<string, unknown>)[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}
