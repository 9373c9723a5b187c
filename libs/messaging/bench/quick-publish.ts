/**
 * Orientation only (the real benchmark is `npm run bench:messaging`, later): publishes/s with
 * publisher confirms, plain amqplib against this library's outbox relay, on the same broker.
 *
 *   npm run bench:quick-publish -- [messages]      (RABBITMQ_URL and DATABASE_URL as for the tests)
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { EVENTS, OrderPlaced, serializeEvent } from '@shop/contracts';
import { ConfirmPublisher } from '../src/lib/broker/confirm-publisher';
import { messagingMigrations } from '../src/lib/migrations/1732300000000-messaging-tables';
import { Outbox } from '../src/lib/outbox/outbox';
import { OutboxRelay } from '../src/lib/outbox/outbox-relay';

const total = Number(process.argv[2] ?? 20_000);
const window = 1000;
const brokerUrl = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const event = () =>
  OrderPlaced.create({
    orderId: randomUUID(),
    customerId: 'c-1',
    items: [{ sku: 'SKU-1', quantity: 2 }],
    paymentToken: 'tok_visa',
  });

async function main(): Promise<void> {
  const model = await connect(brokerUrl);
  const setup = await model.createChannel();
  await setup.assertExchange('bench.orders', 'topic', { durable: true });
  await setup.assertQueue('bench.sink', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await setup.bindQueue('bench.sink', 'bench.orders', '#');
  const body = serializeEvent(event());
  console.log(`${total} persistent messages of ${body.length} bytes, confirms, window ${window}`);

  // 1. plain amqplib: confirm channel, a window of outstanding confirms
  {
    const channel = await model.createConfirmChannel();
    await setup.purgeQueue('bench.sink');
    const started = process.hrtime.bigint();
    let inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      inFlight.push(
        new Promise<void>((resolve, reject) =>
          channel.publish('bench.orders', 'order.placed', body, { persistent: true, messageId: String(i) }, (err) =>
            err ? reject(err) : resolve(),
          ),
        ),
      );
      if (inFlight.length >= window) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    report('amqplib, confirm channel', started);
    await channel.close();
  }

  // 2. the library's confirm publisher (mandatory, returns tracked), same window
  {
    const channel = await model.createConfirmChannel();
    const publisher = new ConfirmPublisher();
    publisher.attach(channel);
    await setup.purgeQueue('bench.sink');
    const started = process.hrtime.bigint();
    let inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      inFlight.push(publisher.publish('bench.orders', 'order.placed', body, { messageId: String(i) }));
      if (inFlight.length >= window) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    report('library ConfirmPublisher', started);
    await channel.close();
  }

  // 3. end to end through the outbox: rows committed, then relayed and deleted once confirmed
  {
    const name = `bench_outbox_${process.pid}`;
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const dataSource = new DataSource({ type: 'postgres', url: url.toString(), migrations: messagingMigrations });
    await dataSource.initialize();
    await dataSource.runMigrations();
    const channel = await model.createConfirmChannel();
    const publisher = new ConfirmPublisher();
    publisher.attach(channel);
    const outbox = new Outbox(dataSource, 'orders', EVENTS, () => undefined, 0);
    for (let i = 0; i < total; i += 500) {
      await outbox.transaction(async (tx) => {
        for (let j = i; j < Math.min(i + 500, total); j++) await outbox.publish(tx, event());
      });
    }
    await setup.assertExchange('orders', 'topic', { durable: true });
    await setup.bindQueue('bench.sink', 'orders', '#');
    await setup.purgeQueue('bench.sink');
    const relay = new OutboxRelay(dataSource, publisher, {
      app: 'orders',
      pollIntervalMs: 60_000,
      batchSize: 500,
      maxBackoffMs: 1000,
      unroutableAllowed: [],
    });
    const started = process.hrtime.bigint();
    await relay.flush();
    report('library outbox relay (claim, publish, delete)', started);
    await setup.unbindQueue('bench.sink', 'orders', '#');
    await channel.close();
    await dataSource.destroy();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }

  await setup.deleteQueue('bench.sink');
  await setup.deleteExchange('bench.orders');
  await model.close();
}

function report(label: string, started: bigint): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${label.padEnd(48)} ${Math.round(total / seconds)
      .toString()
      .padStart(7)} msg/s  (${seconds.toFixed(2)} s)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
