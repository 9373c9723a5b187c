import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Controller, Logger, type INestApplication } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { APP_NAMES, OrderPlaced, serializeEvent, type AppName } from '@shop/contracts';
import {
  brokerUser,
  ConsumeEvent,
  EventContext,
  MessagingModule,
  MessagingService,
  messagingMigrations,
  NonRetryableError,
  rabbitmqDefinitions,
  startEventTransport,
  type DeadLetter,
  type EventOf,
  type RedriveSummary,
} from '@shop/messaging';
import {
  createTestDatabase,
  createTestVhost,
  freePort,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { runCli, UsageError } from '../src/cli';

const QUEUE = 'inventory.dead-letters-cli-probe';
const ROOT = join(__dirname, '../../..');

/** Orders whose handling fails (dead-lettered at once) until the test removes them; those applied. */
const broken = new Set<string>();
const applied: string[] = [];

@Controller()
class ReserveOnOrderPlaced {
  @ConsumeEvent(OrderPlaced, { queue: QUEUE })
  handle(@Payload() event: EventOf<typeof OrderPlaced>, @Ctx() ctx: EventContext) {
    return ctx.transaction(async () => {
      if (broken.has(event.data.orderId)) throw new NonRetryableError('sku unknown');
      applied.push(event.data.orderId);
    });
  }
}

/** The CLI's code against the test's vhost, as the app's own broker users would run it. */
describe('the dead-letters CLI', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let app: INestApplication;
  let producer: ChannelModel;
  let channel: ConfirmChannel;
  let prefix: string;
  const passwords = Object.fromEntries(APP_NAMES.map((name) => [name, randomBytes(12).toString('hex')])) as Record<
    AppName,
    string
  >;
  const urlOf = (name: AppName) => broker.urlAs(brokerUser(name, prefix), passwords[name]);

  beforeAll(async () => {
    [broker, database] = await Promise.all([
      createTestVhost('dead letters cli'),
      createTestDatabase('dead_letters_cli'),
    ]);
    prefix = `${broker.vhost}-`;
    await broker.addUsers(rabbitmqDefinitions({ vhost: broker.vhost, passwords, userPrefix: prefix }));
    Logger.overrideLogger(false);
    const module = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: database.url,
          migrations: messagingMigrations,
          migrationsRun: true,
        }),
        MessagingModule.forRoot({ app: 'inventory', url: urlOf('inventory') }),
      ],
      controllers: [ReserveOnOrderPlaced],
    }).compile();
    app = module.createNestApplication({ logger: false });
    await startEventTransport(app);
    await app.init();
    await app.get(MessagingService).whenConnected();
    producer = await connect(urlOf('orders'));
    channel = await producer.createConfirmChannel();
  });

  afterAll(async () => {
    await app?.close();
    await producer?.close().catch(() => undefined);
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  async function cli(argv: string[], env: Record<string, string> = { RABBITMQ_URL: urlOf('inventory') }) {
    const out: string[] = [];
    const err: string[] = [];
    await runCli(argv, { env, stdout: (text) => out.push(text), stderr: (text) => err.push(text) });
    return { stdout: out.join(''), stderr: err.join('') };
  }
  const listed = async () =>
    JSON.parse((await cli(['list', '--queue', QUEUE, '--limit', '1000', '--json'])).stdout) as DeadLetter[];

  /** order.placed events from the orders user whose handling fails, once all wait in the dead-letter queue. */
  async function deadLettered(count: number) {
    const events = Array.from({ length: count }, () =>
      OrderPlaced.create({
        orderId: randomUUID(),
        customerId: 'c-1',
        items: [{ sku: 'SKU-1', quantity: 1 }],
        paymentToken: 'tok_visa',
      }),
    );
    for (const event of events) {
      broken.add(event.data.orderId);
      channel.publish('orders', 'order.placed', serializeEvent(event), {
        messageId: event.id,
        type: event.type,
        userId: brokerUser('orders', prefix),
      });
    }
    await channel.waitForConfirms();
    await waitFor(
      async () => {
        const ids = new Set((await listed()).map((item) => item.messageId));
        return events.every((event) => ids.has(event.id));
      },
      { description: `${count} dead letter(s)` },
    );
    return events;
  }

  it('lists the dead letters as a table, and as JSON with their bodies, leaving them where they are', async () => {
    const [event] = await deadLettered(1);
    const { stdout } = await cli(['list', '--queue', QUEUE]);
    const line = stdout.split('\n').find((row) => row.includes(event.id));
    expect(line?.split(/\s{2,}/)).toEqual([
      QUEUE,
      event.id,
      'order.placed',
      'rejected',
      '1',
      '0',
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      'sku unknown',
    ]);
    expect(stdout).toMatch(/\d+ dead letter\(s\)\n$/);
    const json = (await listed()).find((item) => item.messageId === event.id);
    expect(json).toMatchObject({ reason: 'rejected', body: { id: event.id, type: 'order.placed' } });
    expect((await listed()).find((item) => item.messageId === event.id)).toEqual(json);
  });

  it('redrives the given ids once the cause is fixed: applied once, the others left, the unknown ones named', async () => {
    const [a, b] = await deadLettered(2);
    broken.delete(a.data.orderId);
    const missing = randomUUID();

    const { stdout, stderr } = await cli(['redrive', '--queue', QUEUE, '--ids', `${a.id},${missing}`]);

    expect(stdout).toBe(`redriven to ${QUEUE}: 1\n  ${a.id}\nnot found: 1\n  ${missing}\n`);
    expect(stderr).toBe(`${QUEUE}: ${a.id} order.placed redriven (redrive 1)\n`);
    await waitFor(() => applied.includes(a.data.orderId), { description: 'a applied' });
    const left = (await listed()).map((item) => item.messageId);
    expect(left).toContain(b.id);
    expect(left).not.toContain(a.id);

    // The same id again: nothing left to redrive, nothing applied twice.
    const again = JSON.parse((await cli(['redrive', '--queue', QUEUE, '--ids', a.id, '--json'])).stdout);
    expect(again).toEqual({ queue: QUEUE, redriven: [], notFound: [a.id], skipped: [] });
    expect(applied.filter((orderId) => orderId === a.data.orderId)).toHaveLength(1);
  });

  it('redrives all that waits, once each', async () => {
    const events = await deadLettered(2);
    for (const event of events) broken.delete(event.data.orderId);
    const before = new Set((await listed()).map((item) => item.messageId));

    const summary: RedriveSummary = JSON.parse((await cli(['redrive', '--queue', QUEUE, '--all', '--json'])).stdout);

    expect(new Set(summary.redriven)).toEqual(before);
    await waitFor(() => events.every((event) => applied.includes(event.data.orderId)), { description: 'applied' });
  });

  it("cannot read another app's dead letters: the broker refuses the orders user the inventory queues", async () => {
    await expect(cli(['list', '--queue', QUEUE], { RABBITMQ_URL: urlOf('orders') })).rejects.toThrow(/ACCESS_REFUSED/);
    await expect(cli(['list', '--queue', 'inventory.not-declared'])).rejects.toThrow(
      new UsageError(
        'the broker has no dead-letter queue inventory.not-declared.dlq (is inventory.not-declared declared?)',
      ),
    );
  });

  /** The CLI as an operator runs it (`npm run dead-letters -- ...`): exit code and stderr. */
  function runProcess(argv: string[], env: Record<string, string>) {
    const result = spawnSync(process.execPath, ['-r', '@swc-node/register', 'apps/dead-letters/src/main.ts', ...argv], {
      cwd: ROOT,
      env: { ...process.env, SWC_NODE_PROJECT: 'tsconfig.base.json', ...env },
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('exits 2 with one line on bad arguments, 1 with one line when the broker cannot be reached', async () => {
    const bad = runProcess(['redrive', '--queue', QUEUE], { RABBITMQ_URL: urlOf('inventory') });
    expect(bad).toEqual({
      status: 2,
      stdout: '',
      stderr: 'dead-letters: redrive needs --ids <id>[,<id>...] or --all\n',
    });
    const port = await freePort();
    const unreachable = runProcess(['list', '--queue', QUEUE], {
      RABBITMQ_URL: `amqp://inventory:secret@127.0.0.1:${port}`,
    });
    expect(unreachable).toEqual({
      status: 1,
      stdout: '',
      stderr: `dead-letters: cannot reach the broker at amqp://inventory:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    });
    const listing = runProcess(['list', '--queue', QUEUE, '--json'], { RABBITMQ_URL: urlOf('inventory') });
    expect(listing.status).toBe(0);
    expect(Array.isArray(JSON.parse(listing.stdout))).toBe(true);
  });
});
