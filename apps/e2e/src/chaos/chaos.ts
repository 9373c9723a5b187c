import { randomBytes } from 'node:crypto';
import {
  brokerAdminFromEnv,
  startLocalRabbitmqCluster,
  startPrivateBroker,
  startPrivatePostgres,
  type LocalRabbitmqCluster,
  type PrivateBroker,
  type PrivatePostgres,
} from '@shop/testing';
import { Client } from 'pg';
// The e2e project's support code, reused as it is (the same system, client and invariants as the e2e suites).
import { startSystem } from '../support/system';
import { ShopClient, type Answer, type Order, type PlaceOrderRequest } from '../support/shop-client';
import { answerViolations, countByStatus } from '../support/answers';
import { findViolations, takeSnapshot, type Snapshot } from '../support/invariants';
import { APPS, type AppName } from '../support/app-process';
import {
  Duplicator,
  inspectDeadLetterQueues,
  publishPoison,
  type DeadLetterQueue,
  type PoisonMessage,
} from './broker-tools';
import { ARCHIVE_STREAM } from '../support/archive-stream';
import { archiveViolations } from './archive-check';
import { NodeFaults } from './node-faults';
import { derive, random } from './prng';

export interface ChaosOptions {
  orders: number;
  seed: number;
  /** Orders in flight at once. */
  concurrency: number;
  /** Orders started per second at most (paces the load so that the faults fall inside it). */
  rate: number;
  orderTimeoutMs: number;
  transientFailureRate: number;
  /** Share of events delivered twice. */
  duplicateRate: number;
  poisonMessages: number;
  /** SIGKILLs of random app replicas; by default max(3, orders / 150). */
  appKills?: number;
  /**
   * Run on a private RabbitMQ cluster of this many nodes (3 or more; 0: one private node), the apps
   * given every node: the broker-restart fault becomes node faults (SIGKILL of the node leading the
   * saga's queues, brought back, then of another; `stop_app` of a third).
   */
  cluster: number;
  /** Use these instead of a private broker / database (then that restart fault is skipped). */
  rabbitmqUrl?: string;
  databaseUrl?: string;
  progressIntervalMs: number;
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: ChaosOptions = {
  orders: 1000,
  seed: 42,
  concurrency: 10,
  rate: 15,
  orderTimeoutMs: 30_000,
  transientFailureRate: 0.1,
  duplicateRate: 0.05,
  poisonMessages: 5,
  cluster: 0,
  progressIntervalMs: 5_000,
  log: (line) => process.stdout.write(`${line}\n`),
};

export type OrderKind =
  | 'happy'
  | 'scarce'
  | 'declined'
  | 'cancel-pending'
  | 'cancel-confirmed'
  | 'retry'
  | 'crash-burst';

export type FaultKind =
  | 'kill-replica'
  | 'broker-restart'
  | 'node-kill'
  | 'node-stop-app'
  | 'postgres-outage'
  | 'kill-after-commit'
  | 'poison'
  | 'duplicate-delivery';

export interface FaultEvent {
  kind: FaultKind;
  /** ms since the load started */
  atMs: number;
  durationMs: number;
  detail: string;
  /** HTTP answers the load got while the fault lasted, by status (`no answer`: connection failed). */
  answers?: Record<string, number>;
  /** A node fault: the node, and how long until every app replica was on another node (ms after the fault). */
  node?: string;
  movedMs?: number;
  /** A node fault: ms from the node's return until every quorum queue of the vhost had all its replicas online. */
  replicasBackMs?: number;
}

export interface Sample {
  tMs: number;
  PENDING: number;
  CONFIRMED: number;
  CANCELLED: number;
}

export interface InvariantResult {
  name: string;
  pass: boolean;
  /** what is broken (first lines) */
  details: string[];
  count: number;
}

export interface ChaosReport {
  seed: number;
  options: Omit<ChaosOptions, 'log'>;
  private: { broker: boolean; postgres: boolean; clusterNodes: number };
  startedAt: string;
  durationsMs: { startup: number; load: number; heal: number; timeToHeal: number; check: number; total: number };
  orders: {
    requested: number;
    accepted: number;
    notAccepted: number;
    byState: Record<string, number>;
    byKind: Record<string, Record<string, number>>;
  };
  faults: FaultEvent[];
  faultCounts: Record<string, number>;
  duplicates: { seen: number; republished: number; errors: number };
  poison: { published: PoisonMessage[]; expectedDeadLettered: number; deadLetterQueues: DeadLetterQueue[] };
  counts: { lost: number; duplicatedEffects: number; unexpectedOutcomes: number; idempotencyMismatches: number };
  invariants: InvariantResult[];
  samples: Sample[];
  passed: boolean;
}

interface Tracked {
  index: number;
  kind: OrderKind;
  key: string;
  request: PlaceOrderRequest;
  id?: string;
  acceptError?: string;
  cancelStatus?: number;
  /**
   * An earlier cancel went unanswered (the replica died, the connection reset) or answered a 5xx (the
   * database went away around its commit): it may have been applied, so the 409 of the retry ("already
   * cancelled") may be about the customer's own cancel.
   */
  cancelUncertain?: boolean;
  cancelledWhen?: 'pending' | 'confirmed' | 'already-final';
}

const CHAOS_SKUS = [
  { sku: 'CHAOS-BEANS', name: 'Chaos beans', price: 1250 },
  { sku: 'CHAOS-KETTLE', name: 'Chaos kettle', price: 2490 },
  { sku: 'CHAOS-MUG', name: 'Chaos mug', price: 399 },
  { sku: 'CHAOS-FILTER', name: 'Chaos filters', price: 175 },
];
const SCARCE = { sku: 'CHAOS-SCARCE', name: 'Chaos limited dripper', price: 8900 };
const PLENTY = 1_000_000;

/** Cleanups of what a run started, in reverse order: also run on Ctrl-C by `abortChaos()`. */
const cleanups: Array<{ name: string; fn: () => Promise<void> }> = [];

/** The queues bound to order.placed: a poison message is dead-lettered once from each. */
const ORDER_PLACED_QUEUES = ['inventory.stock-saga.on-placed', 'payments.payment-saga.on-placed'];

export async function runCleanups(log: (line: string) => void = () => undefined): Promise<void> {
  while (cleanups.length) {
    const { name, fn } = cleanups.pop() as { name: string; fn: () => Promise<void> };
    try {
      await fn();
    } catch (error) {
      log(`cleanup of ${name} failed: ${(error as Error).message}`);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(partial: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const options: ChaosOptions = { ...DEFAULT_OPTIONS, ...partial };
  const { log } = options;
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const rng = random(options.seed);
  const savedEnv = { ...process.env };
  cleanups.push({
    name: 'environment',
    fn: async () => {
      for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
      Object.assign(process.env, savedEnv);
    },
  });

  try {
    // 1. services and system
    let broker: PrivateBroker | undefined;
    let cluster: LocalRabbitmqCluster | undefined;
    let postgres: PrivatePostgres | undefined;
    let rabbitmqUrl = options.rabbitmqUrl;
    let databaseUrl = options.databaseUrl;
    if (options.cluster) {
      if (rabbitmqUrl) throw new Error('a cluster run starts its own broker nodes: give no RabbitMQ URL');
      if (options.cluster < 3) throw new Error(`a cluster needs 3 nodes or more to lose one (got ${options.cluster})`);
      log(`starting a private RabbitMQ cluster of ${options.cluster} nodes...`);
      cluster = await startLocalRabbitmqCluster(options.cluster, { label: 'chaos' });
      const started = cluster;
      cleanups.push({ name: 'private cluster', fn: () => started.stop() });
    } else if (!rabbitmqUrl) {
      process.env['TEST_PRIVATE_BROKER'] ??= 'local';
      log('starting a private RabbitMQ node...');
      broker = await startPrivateBroker('chaos');
      const started = broker;
      cleanups.push({ name: 'private broker', fn: () => started.stop() });
      rabbitmqUrl = broker.url;
      // createTestVhost (in startSystem) administers the broker as the environment says.
      delete process.env['RABBITMQ_MANAGEMENT_URL'];
      Object.assign(process.env, broker.adminEnv);
    }
    if (!databaseUrl) {
      log('starting a private PostgreSQL cluster...');
      postgres = await startPrivatePostgres();
      const started = postgres;
      cleanups.push({ name: 'private postgres', fn: () => started.stop() });
      databaseUrl = postgres.url;
    }
    if (rabbitmqUrl) process.env['RABBITMQ_URL'] = rabbitmqUrl;
    process.env['DATABASE_URL'] = databaseUrl;
    // The broker's node: the private one's when it was started above (its adminEnv names it); the
    // cluster's first node (vhost, users and queue listings are the whole cluster's).
    const brokerAdmin = cluster ? cluster.admin() : brokerAdminFromEnv({ node: process.env['RABBITMQ_NODENAME'] });

    log(
      `starting the system (2 replicas of every app${cluster ? `, each given all ${cluster.nodes.length} nodes` : ''})...`,
    );
    const system = await startSystem({
      label: 'chaos',
      replicas: 2,
      impersonator: true,
      cluster,
      env: {
        orders: { ORDER_TIMEOUT_MS: String(options.orderTimeoutMs) },
        payments: { PAYMENTS_TRANSIENT_FAILURE_RATE: String(options.transientFailureRate) },
      },
    });
    cleanups.push({ name: 'system', fn: () => system.stop() });
    const client = system.client;
    // every HTTP answer of the run, to count them by status during each fault (and find any 500)
    const answers: Answer[] = [];
    const recordAnswer = (answer: Answer) => answers.push(answer);
    client.onAnswer(recordAnswer);
    const startupMs = Date.now() - t0;
    log(`system up in ${(startupMs / 1000).toFixed(1)} s: vhost ${system.vhost}`);

    // 2. catalogue
    const scarceStock = Math.max(5, Math.round(options.orders * 0.05));
    const stocked: Record<string, number> = {};
    for (const p of CHAOS_SKUS) {
      await client.putProduct(p.sku, { name: p.name, price: p.price, available: PLENTY });
      stocked[p.sku] = PLENTY;
    }
    await client.putProduct(SCARCE.sku, { name: SCARCE.name, price: SCARCE.price, available: scarceStock });
    stocked[SCARCE.sku] = scarceStock;

    // the orders, decided up front from the seed
    const tracked: Tracked[] = [];
    const makeOrder = (index: number, kind?: OrderKind): Tracked => {
      const r = random(derive(options.seed, index));
      const roll = r.next();
      const chosen: OrderKind =
        kind ??
        (roll < 0.55
          ? 'happy'
          : roll < 0.65
            ? 'scarce'
            : roll < 0.75
              ? 'declined'
              : roll < 0.83
                ? 'cancel-pending'
                : roll < 0.9
                  ? 'cancel-confirmed'
                  : 'retry');
      const lines = r.int(1, 3);
      const skus = [...CHAOS_SKUS].sort(() => r.next() - 0.5).slice(0, lines);
      const items =
        chosen === 'scarce'
          ? [{ sku: SCARCE.sku, quantity: r.int(1, 2) }]
          : skus.map((p) => ({ sku: p.sku, quantity: r.int(1, 3) }));
      const token = chosen === 'declined' ? r.pick(['tok_declined', 'tok_insufficient_funds']) : 'tok_visa';
      return {
        index,
        kind: chosen,
        key: `chaos-${options.seed}-${index}`,
        request: { customerId: `chaos-c-${index % 50}`, items, paymentToken: token },
      };
    };

    // 3. load, faults, sampling
    const loadStart = Date.now();
    const since = () => Date.now() - loadStart;
    const faults: FaultEvent[] = [];
    let placed = 0;
    let accepted = 0;
    let idempotencyMismatches = 0;
    const idempotencyDetails: string[] = [];
    const background = new Set<Promise<void>>();

    const post = async (t: Tracked, via: ShopClient = client, deadlineMs = 120_000): Promise<Order | undefined> => {
      const deadline = Date.now() + deadlineMs;
      let last = '';
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        try {
          const response = await via.placeOrderRaw(t.request, t.key);
          if (response.status === 202 || response.status === 200) return response.body;
          last = `${response.status} ${response.text.slice(0, 200)}`;
          if (response.status >= 400 && response.status < 500) break;
        } catch (error) {
          last = (error as Error).message;
          via = client; // a replica that went away: any running one
        }
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
      }
      t.acceptError = last;
      return undefined;
    };

    const cancel = async (t: Tracked, id: string): Promise<number> => {
      const deadline = Date.now() + 120_000;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        try {
          const response = await client.cancel(id);
          if (response.status < 500) return response.status;
          t.cancelUncertain = true;
        } catch {
          t.cancelUncertain = true; // retried
        }
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
      }
      return 0;
    };

    const getOrderTolerant = async (id: string): Promise<Order | undefined> => {
      try {
        return await client.getOrder(id);
      } catch {
        return undefined;
      }
    };

    const accept = (t: Tracked, order: Order | undefined) => {
      if (!order) return;
      t.id = order.id;
      accepted++;
    };

    const runOrder = async (t: Tracked): Promise<void> => {
      placed++;
      if (t.kind === 'retry') {
        const r = random(derive(options.seed, t.index + 1_000_000));
        let first: Order | undefined;
        let second: Order | undefined;
        if (r.chance(0.5)) [first, second] = await Promise.all([post(t), post(t)]);
        else {
          first = await post(t);
          second = await post(t);
        }
        accept(t, first ?? second);
        if (first && second && first.id !== second.id) {
          idempotencyMismatches++;
          idempotencyDetails.push(`key ${t.key}: ${first.id} then ${second.id}`);
        }
        return;
      }
      const order = await post(t);
      accept(t, order);
      if (!order) return;
      if (t.kind === 'cancel-pending') {
        t.cancelStatus = await cancel(t, order.id);
        t.cancelledWhen = 'pending';
      } else if (t.kind === 'cancel-confirmed') {
        const task = (async () => {
          const deadline = Date.now() + options.orderTimeoutMs + 30_000;
          while (Date.now() < deadline) {
            const seen = await getOrderTolerant(order.id);
            if (seen?.status === 'CONFIRMED') {
              t.cancelledWhen = 'confirmed';
              t.cancelStatus = await cancel(t, order.id);
              return;
            }
            if (seen?.status === 'CANCELLED') {
              t.cancelledWhen = 'already-final';
              return;
            }
            await sleep(250);
          }
        })();
        background.add(task);
        void task.finally(() => background.delete(task));
      }
    };

    // the orders database, for sampling states every second
    const ordersDbUrl = new URL(databaseUrl);
    ordersDbUrl.pathname = `/${system.databases.orders}`;
    const samples: Sample[] = [];
    let sampler: Client | undefined;
    const sample = async (): Promise<Sample | undefined> => {
      try {
        if (!sampler) {
          const c = new Client({ connectionString: ordersDbUrl.toString(), connectionTimeoutMillis: 2_000 });
          c.on('error', () => undefined);
          await c.connect();
          sampler = c;
        }
        const { rows } = await sampler.query<{ status: string; n: string }>(
          'SELECT status, count(*) AS n FROM orders GROUP BY status',
        );
        const s: Sample = { tMs: since(), PENDING: 0, CONFIRMED: 0, CANCELLED: 0 };
        for (const row of rows) s[row.status as 'PENDING' | 'CONFIRMED' | 'CANCELLED'] = Number(row.n);
        return s;
      } catch {
        await sampler?.end().catch(() => undefined);
        sampler = undefined;
        return undefined;
      }
    };
    let sampling = true;
    const samplerLoop = (async () => {
      while (sampling) {
        const s = await sample();
        if (s) samples.push(s);
        await sleep(1_000 - (since() % 1_000));
      }
    })();
    cleanups.push({
      name: 'sampler',
      fn: async () => {
        sampling = false;
        await samplerLoop;
        await sampler?.end().catch(() => undefined);
      },
    });

    const faultSummary = () => {
      const counts: Record<string, number> = {};
      for (const f of faults) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
      return Object.entries(counts)
        .map(([k, n]) => `${k}×${n}`)
        .join(' ');
    };
    let phase = 'load';
    const progress = setInterval(() => {
      const s = samples[samples.length - 1];
      log(
        `[chaos ${(since() / 1000).toFixed(0)}s ${phase}] placed ${placed}/${options.orders} accepted ${accepted} ` +
          `final ${s ? s.CONFIRMED + s.CANCELLED : '?'} (confirmed ${s?.CONFIRMED ?? '?'}, cancelled ${s?.CANCELLED ?? '?'}, pending ${s?.PENDING ?? '?'}) ` +
          `| faults ${faults.length}: ${faultSummary() || '-'} | events twice ${duplicator.republished}`,
      );
    }, options.progressIntervalMs);
    cleanups.push({ name: 'progress', fn: async () => clearInterval(progress) });

    // events delivered twice, all along
    const poisonIds = new Set<string>();
    const duplicator = new Duplicator(
      system.impersonatorUrls ?? system.brokerUrls,
      options.duplicateRate,
      random(derive(options.seed, 7_777_777)).next,
      (id) => poisonIds.has(id),
    );
    duplicator.start();
    cleanups.push({ name: 'duplicator', fn: () => duplicator.stop() });

    // the fault schedule: at seeded points of the load (orders placed)
    const appKills = options.appKills ?? Math.max(3, Math.round(options.orders / 150));
    const plan: Array<{ kind: FaultKind; at: number }> = [];
    const at = () => Math.floor(options.orders * (0.08 + rng.next() * 0.8));
    for (let i = 0; i < appKills; i++) plan.push({ kind: 'kill-replica', at: at() });
    if (broker) plan.push({ kind: 'broker-restart', at: at() });
    // one node at a time (each waits for the one before to heal: about 15 s), so early in the load, in the
    // order NodeFaults keeps: the saga's leader SIGKILLed, another, a third cut off with stop_app
    if (cluster) {
      for (const share of [0.1, 0.3, 0.5]) {
        plan.push({ kind: 'node-kill', at: Math.floor(options.orders * (share + rng.next() * 0.1)) });
      }
    }
    if (postgres) plan.push({ kind: 'postgres-outage', at: at() });
    plan.push({ kind: 'kill-after-commit', at: at() });
    plan.push({ kind: 'poison', at: at() });
    plan.sort((a, b) => a.at - b.at);
    let burstIndex = options.orders;
    let poison: PoisonMessage[] = [];

    const killAndRestart = async (app: AppName, replica: number): Promise<string> => {
      await system.kill(app, replica, 'SIGKILL');
      const downMs = rng.int(1_000, 3_000);
      await sleep(downMs);
      await system.startApp(app, { replica });
      return `${app}#${replica} SIGKILL, restarted after ${downMs} ms`;
    };

    // app replicas down now: a replica is only killed while its sibling runs, so the app never disappears
    const down = new Set<string>();
    const nodeFaults = cluster ? new NodeFaults(cluster, system, down, rng, log) : undefined;
    const runFault = async (kind: FaultKind): Promise<void> => {
      let start = since();
      let detail = '';
      let extra: Partial<FaultEvent> = {};
      switch (kind) {
        case 'kill-replica': {
          const app = rng.pick(APPS);
          const replica = rng.int(0, system.replicaCount(app) - 1);
          const key = `${app}#${replica}`;
          if ([...down].some((d) => d.startsWith(`${app}#`))) {
            detail = `${key} skipped: its sibling is down`;
            log(`  ${detail}`);
            return;
          }
          down.add(key);
          try {
            detail = await killAndRestart(app, replica);
          } finally {
            down.delete(key);
          }
          break;
        }
        case 'broker-restart':
          await (broker as PrivateBroker).restart();
          detail = `private RabbitMQ node stopped and started (${since() - start} ms)`;
          break;
        case 'node-kill':
        case 'node-stop-app': {
          // the kind planned is a place in the sequence: NodeFaults decides which fault comes next
          const outcome = await (nodeFaults as NodeFaults).run(() => (start = since()));
          kind = outcome.kind;
          detail = outcome.detail;
          extra = { node: outcome.node, movedMs: outcome.movedMs, replicasBackMs: outcome.replicasBackMs };
          break;
        }
        case 'postgres-outage': {
          const downMs = rng.int(2_000, 5_000);
          const { unreachableMs } = await (postgres as PrivatePostgres).outage(downMs);
          detail = `pg_ctl stop -m fast, started again after ${downMs} ms (unreachable ${unreachableMs} ms)`;
          break;
        }
        case 'kill-after-commit': {
          // Best effort: a burst of POSTs to one orders replica, SIGKILLed as soon as the first 202 (its
          // transaction, outbox row included, committed) comes back, before its relay publishes most of them.
          const replica = rng.int(0, 1);
          while (down.has(`orders#${replica}`) || down.has(`orders#${1 - replica}`)) await sleep(200);
          down.add(`orders#${replica}`);
          const target = new ShopClient(() => system.url('orders', replica));
          target.onAnswer(recordAnswer);
          const burst = Array.from({ length: 20 }, () => makeOrder(burstIndex++, 'crash-burst'));
          tracked.push(...burst);
          let killed: Promise<unknown> | undefined;
          const results = await Promise.all(
            burst.map(async (t) => {
              placed++;
              try {
                const response = await target.placeOrderRaw(t.request, t.key);
                if (response.status === 202 && !killed) killed = system.kill('orders', replica, 'SIGKILL');
                return response.status === 202 ? response.body : undefined;
              } catch {
                return undefined;
              }
            }),
          );
          await killed;
          const answered = results.filter(Boolean).length;
          // the client retries what got no answer, with the same Idempotency-Key, on the other replica
          await Promise.all(burst.map(async (t, i) => accept(t, results[i] ?? (await post(t)))));
          const downMs = rng.int(1_000, 3_000);
          await sleep(downMs);
          await system.startApp('orders', { replica });
          down.delete(`orders#${replica}`);
          detail = `burst of 20 POSTs to orders#${replica}, SIGKILL at the first 202 (${answered} answered before), restarted after ${downMs} ms`;
          break;
        }
        case 'poison':
          poison = await publishPoison(system.brokerUrls, options.poisonMessages);
          for (const p of poison) poisonIds.add(p.messageId);
          detail = `${poison.length} poison messages to orders/order.placed (${[...new Set(poison.map((p) => p.kind))].join(', ')})`;
          break;
        default:
          break;
      }
      const end = since();
      const during = answers.filter((a) => a.at - loadStart >= start && a.at - loadStart <= end);
      faults.push({ kind, atMs: start, durationMs: end - start, detail, answers: countByStatus(during), ...extra });
      log(`  fault at ${(start / 1000).toFixed(1)} s: ${kind}: ${detail}`);
    };

    // faults at seeded moments of the (paced) load, each on its own
    const expectedLoadMs = (options.orders / options.rate) * 1000;
    const faultLoop = Promise.all(
      plan.map(async (step) => {
        await sleep((step.at / options.orders) * expectedLoadMs);
        await runFault(step.kind).catch((error) => log(`  fault ${step.kind} failed: ${(error as Error).message}`));
      }),
    );

    // the load: `concurrency` workers over the seeded orders
    let next = 0;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < options.orders) {
          const index = next++;
          const due = loadStart + (index / options.rate) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
          const t = makeOrder(index);
          tracked.push(t);
          await runOrder(t);
        }
      }),
    );
    await faultLoop;
    while (background.size) await Promise.allSettled([...background]);
    const loadEnd = since();
    const loadMs = loadEnd;
    const lastFaultEnd = Math.max(0, ...faults.map((f) => f.atMs + f.durationMs));
    if (duplicator.republished > 0) {
      faults.push({
        kind: 'duplicate-delivery',
        atMs: 0,
        durationMs: loadEnd,
        detail: `${duplicator.republished} of ${duplicator.seen} events published a second time, verbatim`,
      });
    }

    // 4. heal: every accepted order final
    phase = 'heal';
    const acceptedOrders = tracked.filter((t) => t.id);
    const healDeadline = loadStart + Math.max(lastFaultEnd, loadEnd) + options.orderTimeoutMs + 60_000;
    let healedAt: number | undefined;
    while (Date.now() < healDeadline) {
      const s = await sample();
      if (s && s.PENDING === 0 && s.CONFIRMED + s.CANCELLED >= acceptedOrders.length) {
        healedAt = since();
        break;
      }
      await sleep(500);
    }
    const healMs = since() - loadEnd;
    const timeToHeal = (healedAt ?? since()) - Math.max(lastFaultEnd, loadEnd);
    log(
      healedAt
        ? `every order final ${(timeToHeal / 1000).toFixed(1)} s after the last fault / end of load`
        : 'NOT every order is final by the heal deadline',
    );

    // 5. checks
    phase = 'check';
    const checkStart = Date.now();
    const scope = { orderIds: acceptedOrders.map((t) => t.id as string), stocked };
    // effects after the final status (release, refund, notification) follow by a hop or two: wait for them
    let snapshot: Snapshot | undefined;
    let violations: string[] = [];
    const invariantDeadline = Date.now() + 60_000;
    for (;;) {
      try {
        snapshot = await takeSnapshot(client, scope);
        violations = findViolations(scope, snapshot);
        if (!violations.length) break;
      } catch (error) {
        violations = [`could not read the system: ${(error as Error).message}`];
      }
      if (Date.now() > invariantDeadline) break;
      await sleep(2_000);
    }
    await duplicator.stop();

    // dead-letter queues: exactly the poison messages, each in every queue bound to order.placed
    const expectedDeadLettered = poison.length * ORDER_PLACED_QUEUES.length;
    let deadLetterQueues: DeadLetterQueue[] = [];
    const dlqDeadline = Date.now() + 30_000;
    for (;;) {
      try {
        const queues = await brokerAdmin.listQueues(system.vhost);
        deadLetterQueues = await inspectDeadLetterQueues(
          system.brokerUrl,
          queues.map((queue) => queue.name),
        );
      } catch (error) {
        log(`could not inspect the dead-letter queues: ${(error as Error).message}`);
      }
      const total = deadLetterQueues.reduce((n, q) => n + q.messageCount, 0);
      if (total >= expectedDeadLettered || Date.now() > dlqDeadline) break;
      await sleep(1_000);
    }

    // every other queue drained: no message left ready or unacknowledged (the archive stream keeps its events)
    let leftInQueues: string[] = [];
    const drainDeadline = Date.now() + 60_000;
    for (;;) {
      try {
        const queues = await brokerAdmin.listQueues(system.vhost);
        leftInQueues = queues
          .filter((q) => !q.name.endsWith('.dlq') && q.name !== ARCHIVE_STREAM && q.messages > 0)
          .map((q) => `${q.name}: ${q.ready} ready, ${q.unacked} unacknowledged`);
      } catch (error) {
        leftInQueues = [`could not list the queues: ${(error as Error).message}`];
      }
      if (!leftInQueues.length || Date.now() > drainDeadline) break;
      await sleep(1_000);
    }

    // the event archive: every accepted order's events kept
    const archiveLines = await archiveViolations(
      client,
      snapshot?.orders ?? [],
      Date.now() + 30_000,
      system.brokerUrl,
    ).catch((error: Error) => [`could not read the archive: ${error.message}`]);

    // the databases themselves
    const dbFindings: string[] = [];
    let ordersRows = -1;
    for (const app of APPS) {
      const url = new URL(databaseUrl);
      url.pathname = `/${system.databases[app]}`;
      const c = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
      try {
        await c.connect();
        const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM messaging_outbox');
        if (Number(rows[0].n) !== 0) dbFindings.push(`${app}: ${rows[0].n} event(s) still unpublished in the outbox`);
        if (app === 'orders') {
          const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM orders');
          ordersRows = Number(r.rows[0].n);
        }
      } catch (error) {
        dbFindings.push(`${app}: could not read its database: ${(error as Error).message}`);
      } finally {
        await c.end().catch(() => undefined);
      }
    }

    // outcomes per kind
    const byId = new Map((snapshot?.orders ?? []).map((o) => [o.id, o]));
    const unexpected: string[] = [];
    const byKind: Record<string, Record<string, number>> = {};
    const byState: Record<string, number> = {};
    for (const t of tracked) {
      const order = t.id ? byId.get(t.id) : undefined;
      const state = !t.id
        ? 'NOT_ACCEPTED'
        : !order
          ? 'MISSING'
          : order.status === 'CANCELLED'
            ? `CANCELLED/${order.cancellationReason}`
            : order.status;
      byKind[t.kind] ??= {};
      byKind[t.kind][state] = (byKind[t.kind][state] ?? 0) + 1;
      byState[state] = (byState[state] ?? 0) + 1;
      if (!order || order.status === 'PENDING') continue;
      const reason = order.cancellationReason;
      const ok = (() => {
        switch (t.kind) {
          case 'happy':
          case 'retry':
          case 'crash-burst':
            return order.status === 'CONFIRMED' || reason === 'TIMEOUT';
          case 'scarce':
            return order.status === 'CONFIRMED' || reason === 'OUT_OF_STOCK' || reason === 'TIMEOUT';
          case 'declined':
            return reason === 'PAYMENT_DECLINED' || reason === 'TIMEOUT';
          case 'cancel-pending':
          case 'cancel-confirmed':
            if (t.cancelStatus === 202) return reason === 'CUSTOMER_REQUEST';
            if (t.cancelStatus === 409)
              return order.status === 'CANCELLED' && (reason !== 'CUSTOMER_REQUEST' || t.cancelUncertain === true);
            return order.status === 'CONFIRMED' || reason === 'TIMEOUT';
          default:
            return false;
        }
      })();
      if (!ok) {
        unexpected.push(
          `${t.kind} order ${order.id} (${t.request.paymentToken}, cancel answered ${t.cancelStatus ?? '-'}) ended ${state}`,
        );
      }
    }

    const lostLines = violations.filter((v) => /is missing|still PENDING/.test(v) && v.startsWith('order '));
    const stockLines = violations.filter((v) => /^CHAOS-|^product /.test(v));
    const moneyLines = violations.filter(
      (v) => /captured|refunded|money|no total|listed a payment/.test(v) && !/notification/.test(v),
    );
    const notificationLines = violations.filter((v) => /notification/.test(v));
    const other = violations.filter(
      (v) => ![lostLines, stockLines, moneyLines, notificationLines].some((list) => list.includes(v)),
    );
    const doubleCaptures = moneyLines.filter((v) => /captured \d+ times/.test(v));
    const doubleNotifications = notificationLines.filter((v) => /has [2-9]\d* (ORDER|PAYMENT)_/.test(v));
    const extraOrders = ordersRows >= 0 ? Math.max(0, ordersRows - acceptedOrders.length) : 0;
    const notAccepted = tracked.filter((t) => !t.id);

    const dlqTotal = deadLetterQueues.reduce((n, q) => n + q.messageCount, 0);
    const dlqIds = deadLetterQueues.flatMap((q) => q.messageIds);
    const strangers = dlqIds.filter((id) => !poisonIds.has(id));
    const dlqDetails = [
      ...deadLetterQueues.filter((q) => q.messageCount > 0).map((q) => `${q.queue}: ${q.messageCount}`),
      ...strangers.slice(0, 10).map((id) => `not a poison message: ${id}`),
    ];
    const perQueueOk = deadLetterQueues
      .filter((q) => q.messageCount > 0)
      .every((q) => q.messageCount === poison.length);
    const dlqPass = dlqTotal === expectedDeadLettered && strangers.length === 0 && perQueueOk;

    const lost = lostLines.length;
    const badAnswers = answerViolations(answers);
    const invariants: InvariantResult[] = [
      result('every accepted order final (none lost)', lostLines),
      result('stock conserved per sku (available + reserved + sold == stocked, none negative)', stockLines),
      result('money: at most one capture per order, captured - refunded == confirmed totals', moneyLines),
      result('notifications: one per (order, type), the expected kinds per final state', notificationLines),
      result('idempotency: same key and body → same order, no extra order rows', [
        ...idempotencyDetails,
        ...(extraOrders ? [`${extraOrders} order rows beyond the ${acceptedOrders.length} accepted orders`] : []),
      ]),
      result(
        `dead-letter queues hold exactly the ${expectedDeadLettered} poison copies`,
        dlqPass ? [] : dlqDetails.length ? dlqDetails : [`${dlqTotal} dead-lettered`],
      ),
      result('outboxes drained (every committed event published)', dbFindings),
      result('queues drained: no message left ready or unacknowledged but the dead letters', leftInQueues),
      result("the event archive holds every accepted order's order.placed and final event", archiveLines),
      result('no unexpected outcome', unexpected),
      result('no HTTP answer a 5xx other than 503, every 503 with Retry-After', [
        ...badAnswers,
        // what the apps logged of them (the processes running now)
        ...(badAnswers.length
          ? system.processes().flatMap((p) =>
              p
                .output()
                .split('\n')
                .filter((line) => line.includes('HttpErrorFilter'))
                .map((line) => `${p.name}: ${line.slice(0, 1_500)}`),
            )
          : []),
      ]),
      result(
        'every order accepted (POST answered 202 within 2 min of retries)',
        notAccepted.map((t) => `${t.key}: ${t.acceptError}`),
      ),
      ...(other.length ? [result('other invariant checks', other)] : []),
    ];
    const counts = {
      lost,
      duplicatedEffects: doubleCaptures.length + doubleNotifications.length + stockLines.length + extraOrders,
      unexpectedOutcomes: unexpected.length,
      idempotencyMismatches,
    };
    const faultCounts: Record<string, number> = {};
    for (const f of faults) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
    const report: ChaosReport = {
      seed: options.seed,
      options: {
        orders: options.orders,
        seed: options.seed,
        concurrency: options.concurrency,
        rate: options.rate,
        orderTimeoutMs: options.orderTimeoutMs,
        transientFailureRate: options.transientFailureRate,
        duplicateRate: options.duplicateRate,
        poisonMessages: options.poisonMessages,
        cluster: options.cluster,
        appKills,
        rabbitmqUrl: options.rabbitmqUrl,
        databaseUrl: options.databaseUrl,
        progressIntervalMs: options.progressIntervalMs,
      },
      private: { broker: !!broker || !!cluster, postgres: !!postgres, clusterNodes: cluster?.nodes.length ?? 0 },
      startedAt,
      durationsMs: {
        startup: startupMs,
        load: loadMs,
        heal: healMs,
        timeToHeal,
        check: Date.now() - checkStart,
        total: Date.now() - t0,
      },
      orders: {
        requested: tracked.length,
        accepted: acceptedOrders.length,
        notAccepted: notAccepted.length,
        byState,
        byKind,
      },
      faults,
      faultCounts,
      duplicates: { seen: duplicator.seen, republished: duplicator.republished, errors: duplicator.errors },
      poison: { published: poison, expectedDeadLettered, deadLetterQueues },
      counts,
      invariants,
      samples,
      passed: invariants.every((i) => i.pass) && Object.values(counts).every((n) => n === 0),
    };
    return report;
  } finally {
    await runCleanups(log);
  }
}

function result(name: string, broken: string[]): InvariantResult {
  return { name, pass: broken.length === 0, details: broken.slice(0, 20), count: broken.length };
}

export function randomRunId(): string {
  return randomBytes(3).toString('hex');
}
