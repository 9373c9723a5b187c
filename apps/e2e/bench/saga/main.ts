/**
 * The saga end to end under load: the four built apps as real processes (one replica each, then two),
 * orders posted at fixed offered rates with open-loop pacing, then flat out, then at multiples of the
 * capacity measured (overload); against what the database alone can commit. Prints progress and a
 * table, and writes reports/bench-saga.{json,md,svg} and reports/bench-saga-overload.svg.
 *
 *   npm run bench:saga -- [--rates 10,50,100,150,flat] [--seconds 10] [--replicas 1,2] [--overload 2,4]
 *                         [--flat-concurrency 32] [--db-seconds 5] [--drain-seconds 180] [--out reports]
 *   (--overload "": no overload rows)
 *   npm run bench:saga -- --render reports/bench-saga.json     (re-draw the report of a run)
 *   npm run bench:saga -- --profile reports/profiles --rates flat --replicas 1
 *                         (CPU profiles of every app over the run: flame graphs and a summary there)
 *
 * RABBITMQ_URL and DATABASE_URL as for the tests (the local services when unset); the apps must be
 * built (`npx nx run-many -t build -p orders inventory payments notifications`).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { describeMachine, machineInfo, type MachineInfo } from '@shop/testing';
import { createProduct, newCustomer, orderOf, startSystem, type System } from '../../src/support';
import { CpuSampler, type CpuGroups, type CpuUsage } from './cpu';
import { commitsOf, measureDatabaseBound, nextXid } from './db-bound';
import { closedLoop, nowMs, openLoop, OrderPoster, type Posted } from './load';
import { renderReport, summarizeRun, type RateRun, type SagaReport } from './report';
import { writeProfileReport } from './profile-report';
import { parseSagaCompareSides, renderComparison, type CompareSide } from './compare';

process.env['RABBITMQ_URL'] ??= 'amqp://guest:guest@127.0.0.1:5672';
process.env['DATABASE_URL'] ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const USAGE =
  'usage: npm run bench:saga -- [--rates 10,50,100,150,flat] [--seconds N] [--replicas 1,2] [--overload 2,4 | ""]\n' +
  '       [--flat-concurrency N] [--db-seconds N] [--drain-seconds N] [--out DIR] [--profile DIR] [--render JSON]\n' +
  '       npm run bench:saga -- --compare before=a.json,b.json --compare after=c.json,d.json [--compare-name NAME] [--out DIR]';

const { values: args } = (() => {
  // An unknown or malformed flag is answered by one line and the usage, not a stack trace.
  try {
    return parseArgs({
      options: {
        rates: { type: 'string', default: '10,50,100,150,flat' },
        seconds: { type: 'string', default: '10' },
        replicas: { type: 'string', default: '1,2' },
        /** After the rates of a replica count: open loop at these multiples of its best completed/s ("" for none). */
        overload: { type: 'string', default: '2,4' },
        'flat-concurrency': { type: 'string', default: '32' },
        'db-seconds': { type: 'string', default: '5' },
        'drain-seconds': { type: 'string', default: '180' },
        out: { type: 'string', default: join(__dirname, '../../../../reports') },
        /** Re-render the table, Markdown and chart of a report's JSON without measuring again. */
        render: { type: 'string' },
        /** Sample each app's CPU (V8 profiler) and write flame graphs and a summary into this directory. */
        profile: { type: 'string' },
        /** Compare reports of two builds run alternately: label=a.json,b.json, given once per side. */
        compare: { type: 'string', multiple: true },
        'compare-name': { type: 'string', default: 'bench-saga-compare' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`bench:saga: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const options = {
  rates: args.rates.split(',').map((r) => (r.trim() === 'flat' ? 'flat' : positive('rates', r))) as Array<
    number | 'flat'
  >,
  seconds: positive('seconds', args.seconds),
  replicas: args.replicas.split(',').map((r) => positive('replicas', r)),
  overload: args.overload.trim() === '' ? [] : args.overload.split(',').map((k) => positive('overload', k)),
  flatConcurrency: positive('flat-concurrency', args['flat-concurrency']),
  dbSeconds: positive('db-seconds', args['db-seconds']),
  drainSeconds: positive('drain-seconds', args['drain-seconds']),
  dbClients: 4,
};

async function main(): Promise<void> {
  if (args.compare) {
    let sides: CompareSide[];
    try {
      sides = parseSagaCompareSides(args.compare);
    } catch (error) {
      console.error(`bench:saga: ${(error as Error).message}`);
      process.exit(2);
    }
    const { table, files } = await renderComparison(sides, args.out, args['compare-name']);
    console.log(`${table}\n\nwrote ${files.join(', ')}`);
    return;
  }
  if (args.render) {
    const report = JSON.parse(readFileSync(args.render, 'utf8')) as SagaReport;
    const { table, files } = await renderReport(report, args.out);
    console.log(`${table}\n\nwrote ${files.join(', ')}`);
    return;
  }
  const machine: MachineInfo = await machineInfo({
    rabbitmqUrl: process.env['RABBITMQ_URL'],
    databaseUrl: process.env['DATABASE_URL'],
  });
  console.log(`bench:saga on ${describeMachine(machine)}`);
  console.log(
    `rates ${options.rates.join(', ')} orders/s for ${options.seconds} s each; replicas ${options.replicas.join(', ')}; ` +
      `overload ${options.overload.length ? options.overload.map((k) => `${k}x`).join(', ') : 'none'}`,
  );

  console.log(`\ndatabase bound: ${options.dbClients} clients committing a business row + an outbox row...`);
  const dbTps = await measureDatabaseBound({ clients: options.dbClients, seconds: options.dbSeconds });
  console.log(`  ${Math.round(dbTps)} transactions/s`);

  const runs: RateRun[] = [];
  for (const replicas of options.replicas) {
    console.log(`\nstarting the system, ${replicas} replica(s) of each app...`);
    const profileDir = args.profile && join(resolve(args.profile), 'cpuprofiles');
    const profiled = (app: string) =>
      profileDir
        ? {
            NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile-preload.cjs')}`,
            CPU_PROFILE_DIR: profileDir,
            CPU_PROFILE_NAME: app,
          }
        : {};
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    const system = await startSystem({
      label: `bench saga x${replicas}`,
      replicas,
      env: {
        orders: { ORDER_TIMEOUT_MS: '600000', ...profiled('orders') },
        inventory: profiled('inventory'),
        payments: profiled('payments'),
        notifications: profiled('notifications'),
      },
    });
    let ran: RateRun[] = [];
    try {
      ran = await runRates(system, replicas);
      runs.push(...ran);
    } finally {
      await system.stop();
    }
    if (profileDir && args.profile) {
      const files = writeProfileReport(profileDir, resolve(args.profile), ran);
      console.log(`\nCPU profiles: ${files.join(', ')}`);
    }
  }
  if (args.profile) return; // a profiling run leaves the benchmark's own report alone

  const report: SagaReport = {
    machine,
    options,
    database: { clients: options.dbClients, transactionsPerSecond: dbTps },
    runs,
  };
  const { table, files } = await renderReport(report, args.out);
  console.log(`\n${table}`);
  console.log(`\nwrote ${files.join(', ')}`);
}

async function runRates(system: System, replicas: number): Promise<RateRun[]> {
  const adminUrl = process.env['DATABASE_URL'] as string;
  const ordersDb = new URL(adminUrl);
  ordersDb.pathname = `/${system.databases.orders}`;
  const orders = new Client({ connectionString: ordersDb.toString() });
  await orders.connect();
  const poster = new OrderPoster(() =>
    Array.from({ length: system.replicaCount('orders') }, (_, i) => system.url('orders', i)),
  );
  try {
    const sku = await createProduct(system.client, 'bench', { available: 100_000_000, price: 100 });
    const body = JSON.stringify(orderOf(newCustomer('bench'), [[sku, 1]]));
    const send = () => poster.post(body);

    // Warm-up: JIT, connection pools, prepared plans.
    const warm = await closedLoop(8, 3, send);
    await waitUntilFinal(orders, idsOf(warm), 60);

    const runs: RateRun[] = [];
    const run = async (rate: number | 'flat', overload?: { factor: number; capacity: number }) => {
      const offered =
        rate === 'flat'
          ? `flat out (${options.flatConcurrency} clients)`
          : overload
            ? `${overload.factor}x (=${rate}/s)`
            : `${rate} orders/s`;
      const label = `${replicas} replica(s), ${offered}`;
      const groups: CpuGroups = { broker: { named: 'beam.smp' }, postgres: { named: 'postgres' } };
      for (const proc of system.processes()) groups[proc.name] = { pids: [proc.pid] };
      const commitsBefore = await commitsOf(adminUrl, Object.values(system.databases));
      const xidBefore = await nextXid(adminUrl);
      const cpu = new CpuSampler(groups);
      cpu.start();
      const startedAt = nowMs();
      let posted: Posted[];
      let unfinished: number;
      let ids: string[];
      let usage: CpuUsage;
      try {
        posted =
          rate === 'flat'
            ? await closedLoop(options.flatConcurrency, options.seconds, send, (n) => progress(label, `${n} posted`))
            : await openLoop(rate, options.seconds, send, (n, total) => progress(label, `${n}/${total} posted`));
        ids = idsOf(posted);
        unfinished = await waitUntilFinal(orders, ids, options.drainSeconds, (done) =>
          progress(label, `${done}/${ids.length} final`),
        );
      } finally {
        usage = cpu.stop();
      }
      await new Promise((resolve) => setTimeout(resolve, 1500)); // pg_stat_database flushes about once a second
      const commits = (await commitsOf(adminUrl, Object.values(system.databases))) - commitsBefore;
      const writes = (await nextXid(adminUrl)) - xidBefore;
      const { rows } = await orders.query<{ id: string; status: string; at: number }>(
        `SELECT id, status, extract(epoch FROM updated_at) * 1000 AS at FROM orders WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      const result = summarizeRun({
        replicas,
        rate,
        overload,
        seconds: options.seconds,
        startedAt,
        posted,
        rows,
        unfinished,
        cpu: usage,
        commits,
        writes,
      });
      process.stdout.write('\n');
      console.log(
        `  ${label}: ${result.completedPerSecond.toFixed(1)} completed/s, p50 ${result.latencyMs.p50.toFixed(1)} ms, ` +
          `p99 ${result.latencyMs.p99.toFixed(1)} ms, ${result.errors.total} error(s), ` +
          `${result.answers.refused} refused (503), ${result.otherServerErrors} other 5xx, ` +
          `${result.commitsPerOrder.toFixed(1)} transactions/order, ${result.writesPerOrder.toFixed(1)} writes/order, ` +
          `CPU ${result.cpuPerOrder.total.toFixed(1)} ms/order (machine ${result.cpuPerOrder.machine.toFixed(1)})`,
      );
      runs.push(result);
    };
    for (const rate of options.rates) await run(rate);
    // The capacity of this replica count: the best it completed at the rates above.
    const capacity = Math.max(0, ...runs.map((r) => r.completedPerSecond).filter(Number.isFinite));
    for (const factor of options.overload) {
      if (capacity > 0) await run(Math.max(1, Math.round(factor * capacity)), { factor, capacity });
      else console.log(`  ${replicas} replica(s), ${factor}x: skipped, no capacity measured`);
    }
    return runs;
  } finally {
    poster.close();
    await orders.end();
  }
}

function idsOf(posted: Posted[]): string[] {
  return posted.flatMap((p) => (p.orderId ? [p.orderId] : []));
}

/** Polls the orders database until every order is CONFIRMED or CANCELLED; returns how many are not. */
async function waitUntilFinal(
  orders: Client,
  ids: string[],
  seconds: number,
  onProgress?: (done: number) => void,
): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const { rows } = await orders.query<{ n: string }>(
      `SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status IN ('CONFIRMED', 'CANCELLED')`,
      [ids],
    );
    const done = Number(rows[0].n);
    onProgress?.(done);
    if (done === ids.length || Date.now() > deadline) return ids.length - done;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function progress(label: string, text: string): void {
  process.stdout.write(`\r  ${label}: ${text}`.padEnd(100));
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bench:saga: --${name} must be a positive number (got "${value}")`);
    process.exit(2);
  }
  return n;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
