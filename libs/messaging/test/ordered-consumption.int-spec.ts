import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Controller, Injectable } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { ConfirmChannel } from 'amqplib';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { APP_NAMES, OrderPlaced, serializeEvent, type AppName } from '@shop/contracts';
import {
  brokerAdminFromEnv,
  createTestDatabase,
  createTestVhost,
  spawnNodeProcess,
  startPrivateBroker,
  waitFor,
  type BrokerAdmin,
  type ChildHandle,
  type PrivateBroker,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import {
  brokerUser,
  CONSISTENT_HASH_PLUGIN,
  ConsumeEvent,
  EventContext,
  messagingMigrations,
  rabbitmqDefinitions,
  Topology,
  type EventOf,
} from '../src';
import { RawBroker, startApp, type RunningApp } from './support/harness';
import {
  checkOrder,
  ORDERED_QUEUE,
  SEQUENCE_TABLES,
  sequencedMessage,
  sequencePlan,
  UNORDERED_QUEUE,
  type OrderCheck,
} from './support/sequenced';

/**
 * Ordered consumption (`@ConsumeEvent({ ordered: 'subject' })`) on a private RabbitMQ node with the
 * consistent-hash plugin (the shared broker has none, and must not be changed):
 *
 * - the proof: 2 replicas (real processes), 10,000 events over 100 subjects with per-subject sequence
 *   numbers, replicas killed (SIGKILL) and restarted during the run: every subject's events applied in
 *   order, none lost; the same run on an ordinary queue shows disorder, so the check can fail;
 * - a generated least-privilege user declares and consumes the ordered topology; retries in place hold
 *   the subject's later events; dead letters and their redrive go through the partitions;
 * - without the plugin (the shared broker) the app stops at start with one line naming the plugin.
 */
const fixture = join(__dirname, 'fixtures', 'ordered-replica.ts');
const SUBJECTS = 100;
const PER_SUBJECT = 100;
const PARTITIONS = 8;
/**
 * The events go out in this many chunks; while each but the last is being consumed (3/4 of it applied,
 * the rest in the partitions and in flight), the longer-running replica is killed (SIGKILL) or, once,
 * stopped (SIGTERM, the graceful shutdown of a rolling deploy).
 */
const CHUNKS = 5;
/** What stops the replica at the end of chunk k: a kill, except once a graceful stop. */
const stopOf = (k: number): 'SIGKILL' | 'SIGTERM' => (k === 2 ? 'SIGTERM' : 'SIGKILL');
/** How long each handler takes inside its transaction (a call to another service, say). */
const HOLD_MS = 5;

/** `brokerAdminFromEnv` for the private broker (rabbitmqctl -n its node, or its container's management API). */
function adminOf(broker: PrivateBroker): BrokerAdmin {
  const saved = { ...process.env };
  delete process.env['RABBITMQ_MANAGEMENT_URL'];
  Object.assign(process.env, broker.adminEnv);
  try {
    return brokerAdminFromEnv({ node: broker.adminEnv['RABBITMQ_NODENAME'] });
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

interface RunResult extends OrderCheck {
  mode: 'ordered' | 'unordered';
  /** SIGKILL. */
  kills: number;
  /** SIGTERM. */
  stops: number;
  replicasStarted: number;
  duplicates: number;
  handovers: number;
  /** Replicas that applied events (each replica's share of the partitions). */
  replicasApplying: number;
  /** Events per second from the first publish until all were applied, kills included. */
  overallRate: number;
  /** Events per second until the first kill, both replicas up. */
  steadyRate: number;
  seconds: number;
}

describe('ordered consumption', () => {
  let broker: PrivateBroker;
  let admin: BrokerAdmin;
  let database: TestDatabase;
  let db: Client;
  const results: RunResult[] = [];

  beforeAll(async () => {
    [broker, database] = await Promise.all([
      startPrivateBroker('ordered', { plugins: [CONSISTENT_HASH_PLUGIN] }),
      createTestDatabase('ordered'),
    ]);
    admin = adminOf(broker);
    // The messaging tables once, before any replica starts (two running migrations at once would collide).
    const migrations = new DataSource({ type: 'postgres', url: database.url, migrations: messagingMigrations });
    await migrations.initialize();
    await migrations.runMigrations();
    await migrations.destroy();
    db = new Client({ connectionString: database.url });
    await db.connect();
    await db.query(SEQUENCE_TABLES);
  }, 120_000);

  afterAll(async () => {
    if (results.length > 0) {
      const [ordered, unordered] = ['ordered', 'unordered'].map((mode) => results.find((r) => r.mode === mode));
      const describeRun = (r?: RunResult) =>
        r
          ? `${r.mode}: ${Math.round(r.steadyRate)} events/s steady, ${Math.round(r.overallRate)} events/s with ` +
            `${r.kills} kills and ${r.stops} stops (${r.seconds.toFixed(1)} s, ${r.replicasStarted} replicas started), ` +
            `${r.duplicates} duplicates, ${r.handovers} hand-overs (${r.replicasApplying} replicas applied events), ` +
            `${r.subjectsOutOfOrder} subjects out of order ` +
            `(${r.inversions} inversions), ${r.lost} lost`
          : '';
      console.log(
        `ordered consumption, ${SUBJECTS * PER_SUBJECT} events over ${SUBJECTS} subjects, 2 replicas, ` +
          `${PARTITIONS} partitions, handlers of ${HOLD_MS} ms: ${describeRun(ordered)}; ${describeRun(unordered)}`,
      );
    }
    await db?.end();
    await database?.drop();
    await broker?.stop();
  });

  /**
   * Two replicas (processes) of the handler of `mode`. The events go out in CHUNKS chunks: once 3/4 of a
   * chunk is applied, the longer-running replica is killed with SIGKILL (no ack and no commit leaves it
   * after that: its deliveries in flight go back to their queues) and a new one started, never more than
   * two at once; the survivor goes on alone, and the next chunk goes out once the new one is consuming.
   * Ends when every event is applied.
   */
  async function run(mode: 'ordered' | 'unordered'): Promise<RunResult> {
    const vhost = await createTestVhost(`ordered-${mode}`, { brokerUrl: broker.url, admin });
    const queue = mode === 'ordered' ? ORDERED_QUEUE : UNORDERED_QUEUE;
    const plan = sequencePlan(SUBJECTS, PER_SUBJECT);
    const total = plan.length;
    const started: Array<{ child: ChildHandle; ready: boolean }> = [];
    const spawned: ChildHandle[] = [];
    /** A process with its code loaded, waiting for SIGUSR2 to start (fixtures/ordered-replica.ts). */
    const standby = () => {
      const name = `${mode}-${spawned.length + 1}`;
      const child = spawnNodeProcess(fixture, {
        name,
        env: {
          BROKER_URL: vhost.url,
          DATABASE_URL: database.url,
          REPLICA: name,
          ORDERED: mode === 'ordered' ? '1' : '0',
          PARTITIONS: String(PARTITIONS),
          REBALANCE_MS: '1000',
          HOLD_MS: String(HOLD_MS),
        },
      });
      spawned.push(child);
      return child;
    };
    let next = standby();
    /** Starts the process at hand as a replica (resolves once it consumes), and loads the next one. */
    const start = async () => {
      const child = next;
      next = standby();
      await child.waitForOutput(/^loaded$/m, 60_000);
      const replica = { child, ready: false };
      started.push(replica);
      void child.kill('SIGUSR2');
      await child.waitForOutput(/^ready$/m, 30_000);
      replica.ready = true;
    };
    const applied = async () =>
      Number((await db.query(`SELECT count(*) AS n FROM sequence_log WHERE queue = $1`, [queue])).rows[0].n);
    let publisher: RawBroker | undefined;
    try {
      await start();
      await start();

      publisher = await RawBroker.open(vhost.url);
      const channel = publisher.channel as ConfirmChannel;
      const publish = async (events: typeof plan) => {
        for (const planned of events) {
          const { body, properties } = sequencedMessage(planned, 'guest');
          channel.publish('orders', 'test.sequenced', body, properties);
        }
        await channel.waitForConfirms();
      };
      const chunk = total / CHUNKS;
      const startedAt = performance.now();
      let kills = 0;
      let stops = 0;
      let steadyRate = 0;
      let replacement: Promise<unknown> = Promise.resolve();
      for (let k = 0; k < CHUNKS; k++) {
        await replacement;
        await publish(plan.slice(k * chunk, (k + 1) * chunk));
        if (k === CHUNKS - 1) break;
        const done = await waitFor(
          async () => {
            const n = await applied();
            return n >= k * chunk + 0.75 * chunk ? n : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 20, description: `${mode}: 3/4 of chunk ${k + 1} applied` },
        );
        if (k === 0) steadyRate = done / ((performance.now() - startedAt) / 1000);
        const victim = started.find((replica) => replica.ready && replica.child.running());
        if (!victim) throw new Error(`${mode}: no replica running to kill`);
        if (stopOf(k) === 'SIGKILL') {
          await victim.child.kill('SIGKILL');
          kills++;
        } else {
          // Nest's shutdown hooks close the app, then raise the signal again
          await victim.child.kill('SIGTERM');
          if (!/^stopped$/m.test(victim.child.output())) {
            throw new Error(`${mode}: a replica did not stop gracefully:\n${victim.child.output()}`);
          }
          stops++;
        }
        replacement = start();
      }
      await waitFor(async () => (await applied()) >= total, {
        timeoutMs: 60_000,
        intervalMs: 20,
        description: `${mode}: all ${total} events applied`,
      });
      const seconds = (performance.now() - startedAt) / 1000;

      const rows = (
        await db.query(`SELECT subject, seq, replica FROM sequence_log WHERE queue = $1 ORDER BY id`, [queue])
      ).rows as Array<{ subject: string; seq: number; replica: string }>;
      const duplicates = Number(
        (await db.query(`SELECT count(*) AS n FROM sequence_duplicates WHERE queue = $1`, [queue])).rows[0].n,
      );
      const result: RunResult = {
        mode,
        ...checkOrder(plan, rows),
        kills,
        stops,
        replicasStarted: started.length,
        duplicates,
        handovers: started.reduce((n, { child }) => n + (child.output().match(/^handover:/gm)?.length ?? 0), 0),
        replicasApplying: new Set(rows.map((row) => row.replica)).size,
        overallRate: total / seconds,
        steadyRate,
        seconds,
      };
      results.push(result);
      return result;
    } finally {
      await publisher?.close();
      await Promise.all(spawned.map((child) => child.kill('SIGKILL')));
      await vhost.delete();
    }
  }

  it('applies every subject’s events in order and loses none, with 2 replicas killed, stopped and restarted throughout', async () => {
    const result = await run('ordered');
    expect({ lost: result.lost, inversions: result.inversions, examples: result.examples }).toEqual({
      lost: 0,
      inversions: 0,
      examples: [],
    });
    expect(result.applied).toBe(SUBJECTS * PER_SUBJECT);
    expect(result.kills + result.stops).toBe(CHUNKS - 1);
    // the replicas share the partitions: a new replica is handed some by the one that had them all
    expect(result.handovers).toBeGreaterThan(0);
  }, 150_000);

  it('without ordering, the same run applies events out of their order (so the check above can fail)', async () => {
    const result = await run('unordered');
    expect(result.lost).toBe(0);
    expect(result.subjectsOutOfOrder).toBeGreaterThan(0);
    expect(result.kills + result.stops).toBe(CHUNKS - 1);
  }, 150_000);

  describe('as a generated least-privilege user', () => {
    const QUEUE = 'inventory.ordered-probe';
    let vhost: TestBroker;
    let inventory: RunningApp;
    let orders: RawBroker;
    let guest: RawBroker;
    let probe: OrderProbe;
    const passwords = Object.fromEntries(APP_NAMES.map((app) => [app, randomBytes(12).toString('hex')])) as Record<
      AppName,
      string
    >;

    beforeAll(async () => {
      vhost = await createTestVhost('ordered-access', { brokerUrl: broker.url, admin });
      const prefix = `${vhost.vhost}-`;
      await vhost.addUsers(rabbitmqDefinitions({ vhost: vhost.vhost, passwords, userPrefix: prefix }));
      inventory = await startApp({
        app: 'inventory',
        brokerUrl: vhost.urlAs(brokerUser('inventory', prefix), passwords.inventory),
        databaseUrl: database.url,
        handlers: [OrderedProbeHandler],
        providers: [OrderProbe],
        messaging: { ordered: { partitions: 4, rebalanceIntervalMs: 0 } },
      });
      probe = inventory.module.get(OrderProbe);
      orders = await RawBroker.open(vhost.urlAs(brokerUser('orders', prefix), passwords.orders));
      guest = await RawBroker.open(vhost.url);
      publishAs = async (orderId: string, seq: number) => {
        const event = OrderPlaced.create({
          orderId,
          customerId: 'c-1',
          items: [{ sku: 'SKU-1', quantity: seq }],
          paymentToken: 'tok_visa',
        });
        await orders.publish('orders', 'order.placed', serializeEvent(event), {
          messageId: event.id,
          type: event.type,
          appId: 'orders',
          correlationId: event.subject,
          userId: brokerUser('orders', prefix),
        });
        return event.id;
      };
    }, 60_000);

    afterAll(async () => {
      await inventory?.close();
      await orders?.close();
      await guest?.close();
      await vhost?.delete();
    });

    beforeEach(() => probe.reset());

    let publishAs: (orderId: string, seq: number) => Promise<string>;
    const handled = (orderId: string) =>
      probe.calls.filter((call) => call.orderId === orderId).map((call) => `${call.seq}@${call.attempt}`);

    it('declares the partitions (single active consumer) behind the consistent-hash exchange, and consumes them', async () => {
      const exists = async (check: (channel: import('amqplib').Channel) => Promise<unknown>) => {
        const channel = await guest.spareChannel();
        try {
          await check(channel);
          return true;
        } catch {
          return false;
        } finally {
          await channel.close().catch(() => undefined);
        }
      };
      expect(await exists((ch) => ch.checkExchange(Topology.partitionExchange(QUEUE)))).toBe(true);
      for (let p = 0; p < 4; p++)
        expect(await exists((ch) => ch.checkQueue(Topology.partitionQueue(QUEUE, p)))).toBe(true);
      expect(await exists((ch) => ch.checkQueue(Topology.partitionQueue(QUEUE, 4)))).toBe(false);
      expect(await exists((ch) => ch.checkQueue(QUEUE))).toBe(false);
      // single active consumer: a second consumer of a partition is accepted and waits
      const second = await guest.spareChannel();
      await second.consume(Topology.partitionQueue(QUEUE, 0), () => undefined);
      await second.close();

      const orderId = randomUUID();
      for (const seq of [1, 2, 3]) await publishAs(orderId, seq);
      await waitFor(() => handled(orderId).length === 3, { description: 'three events of one order' });
      expect(handled(orderId)).toEqual(['1@1', '2@1', '3@1']);
    });

    it('retries a failure in place: the order’s later events wait for it', async () => {
      const orderId = randomUUID();
      probe.failWhen = (call) => call.orderId === orderId && call.seq === 1 && call.attempt < 3;
      for (const seq of [1, 2, 3]) await publishAs(orderId, seq);
      await waitFor(() => handled(orderId).length === 5, { timeoutMs: 15_000, description: 'two retries, then all' });
      expect(handled(orderId)).toEqual(['1@1', '1@2', '1@3', '2@1', '3@1']);
    });

    it('dead-letters after maxAttempts to <queue>.dlq, moves on, and a redrive comes back through the partitions', async () => {
      const orderId = randomUUID();
      probe.failWhen = (call) => call.orderId === orderId && call.seq === 1;
      const poison = await publishAs(orderId, 1);
      await publishAs(orderId, 2);
      await waitFor(() => handled(orderId).includes('2@1'), { timeoutMs: 15_000, description: 'the next event' });
      expect(handled(orderId)).toEqual(['1@1', '1@2', '1@3', '2@1']);
      const deadLetters = inventory.messaging.deadLetters();
      const [dead] = await deadLetters.list({ queue: QUEUE, limit: 10 });
      expect(dead).toMatchObject({ queue: QUEUE, messageId: poison, reason: 'retries-exhausted', attempts: 3 });

      probe.failWhen = () => false;
      expect(await deadLetters.redrive({ queue: QUEUE, messageIds: [poison] })).toMatchObject({ redriven: [poison] });
      await waitFor(() => handled(orderId).length === 5, { description: 'the redriven event handled' });
      expect(handled(orderId).at(-1)).toBe('1@1');
    });
  });

  it('stops at start with one line naming the plugin when the broker has no consistent-hash exchange', async () => {
    // The shared broker, which has no such plugin (and gets none: a refused declaration changes nothing).
    const [shared, sharedDatabase] = await Promise.all([
      createTestVhost('ordered-no-plugin'),
      createTestDatabase('ordered_no_plugin'),
    ]);
    let app: RunningApp | undefined;
    try {
      app = await startApp({
        app: 'inventory',
        brokerUrl: shared.url,
        databaseUrl: sharedDatabase.url,
        handlers: [OrderedProbeHandler],
        providers: [OrderProbe],
        waitForConnection: false,
      });
      const fatal = new Promise<Error>((resolve) => app?.messaging.onFatal(resolve));
      await expect(app.messaging.whenConnected()).rejects.toThrow(
        'inventory.ordered-probe is ordered, which needs the x-consistent-hash exchange type: enable the ' +
          'rabbitmq_consistent_hash_exchange plugin on the broker',
      );
      expect((await fatal).message).not.toContain('\n');
      // It stopped trying: no reconnect after the refusal.
      const { reconnects } = app.messaging.status();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(app.messaging.status()).toMatchObject({ connected: false, reconnects });
    } finally {
      await app?.close();
      await Promise.all([shared.delete(), sharedDatabase.drop()]);
    }
  });
});

interface ProbeCall {
  orderId: string;
  seq: number;
  attempt: number;
}

@Injectable()
class OrderProbe {
  calls: ProbeCall[] = [];
  failWhen: (call: ProbeCall) => boolean = () => false;

  reset(): void {
    this.calls = [];
    this.failWhen = () => false;
  }
}

@Controller()
class OrderedProbeHandler {
  constructor(private readonly probe: OrderProbe) {}

  @ConsumeEvent(OrderPlaced, {
    queue: 'inventory.ordered-probe',
    ordered: 'subject',
    retry: { maxAttempts: 3, initialDelayMs: 100, factor: 2, maxDelayMs: 1000 },
  })
  async handle(@Payload() event: EventOf<typeof OrderPlaced>, @Ctx() ctx: EventContext): Promise<void> {
    const call = { orderId: event.data.orderId, seq: event.data.items[0]?.quantity ?? 0, attempt: ctx.attempt };
    this.probe.calls.push(call);
    if (this.probe.failWhen(call)) throw new Error(`refusing ${call.seq} (attempt ${call.attempt})`);
  }
}
