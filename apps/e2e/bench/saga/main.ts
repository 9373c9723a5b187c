/**
 * The saga end to end under load: the four built apps as real processes (one replica each, then two),
 * orders posted at fixed offered rates with open-loop pacing, then flat out; against what the database
 * alone can commit. Prints progress and a table, and writes reports/bench-saga.{json,md,svg}.
 *
 *   npm run bench:saga -- [--rates 10,50,100,200,400,flat] [--seconds 10] [--replicas 1,2]
 *                         [--flat-concurrency 32] [--db-seconds 5] [--out reports]
 *   npm run bench:saga -- --render reports/bench-saga.json     (re-draw the report of a run)
 *
 * RABBITMQ_URL and DATABASE_URL as for the tests (the local services when unset); the apps must be
 * built (`npx nx run-many -t build -p orders inventory payments notifications`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { describeMachine, machineInfo, type MachineInfo } from '@shop/testing';
import { createProduct, newCustomer, orderOf, startSystem, type System } from '../../src/support';
import { cpuDelta, pidsNamed, snapshotCpu, type CpuGroups } from './cpu';
import { commitsOf, measureDatabaseBound } from './db-bound';
import { closedLoop, nowMs, openLoop, OrderPoster, type Posted } from './load';
import { renderReport, summarizeRun, type RateRun, type SagaReport } from './report';

process.env['RABBITMQ_URL'] ??= 'amqp://guest:guest@127.0.0.1:5672';
process.env['DATABASE_URL'] ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '10,50,100,200,400,flat' },
    seconds: { type: 'string', default: '10' },
    replicas: { type: 'string', default: '1,2' },
    'flat-concurrency': { type: 'string', default: '32' },
    'db-seconds': { type: 'string', default: '5' },
    'drain-seconds': { type: 'string', default: '180' },
    out: { type: 'string', default: join(__dirname, '../../../../reports') },
    /** Re-render the table, Markdown and chart of a report's JSON without measuring again. */
    render: { type: 'string' },
  },
});

const options = {
  rates: args.rates.split(',').map((r) => (r.trim() === 'flat' ? 'flat' : positive('rates', r))) as Array<
    number | 'flat'
  >,
  seconds: positive('seconds', args.seconds),
  replicas: args.replicas.split(',').map((r) => positive('replicas', r)),
  flatConcurrency: positive('flat-concurrency', args['flat-concurrency']),
  dbSeconds: positive('db-seconds', args['db-seconds']),
  drainSeconds: positive('drain-seconds', args['drain-seconds']),
  dbClients: 4,
};

async function main(): Promise<void> {
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
    `rates ${options.rates.join(', ')} orders/s for ${options.seconds} s each; replicas ${options.replicas.join(', ')}`,
  );

  console.log(`\ndatabase bound: ${options.dbClients} clients committing a business row + an outbox row...`);
  const dbTps = await measureDatabaseBound({ clients: options.dbClients, seconds: options.dbSeconds });
  console.log(`  ${Math.round(dbTps)} transactions/s`);

  const runs: RateRun[] = [];
  for (const replicas of options.replicas) {
    console.log(`\nstarting the system, ${replicas} replica(s) of each app...`);
    const system = await startSystem({
      label: `bench saga x${replicas}`,
      replicas,
      env: { orders: { ORDER_TIMEOUT_MS: '600000' } },
    });
    try {
      runs.push(...(await runRates(system, replicas)));
    } finally {
      await system.stop();
    }
  }

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
    for (const rate of options.rates) {
      const label = `${replicas} replica(s), ${rate === 'flat' ? `flat out (${options.flatConcurrency} clients)` : `${rate} orders/s`}`;
      const groups: CpuGroups = { broker: pidsNamed('beam.smp'), postgres: pidsNamed('postgres') };
      for (const proc of system.processes()) groups[proc.name] = [proc.pid];
      const commitsBefore = await commitsOf(adminUrl, Object.values(system.databases));
      const cpuBefore = snapshotCpu(groups);
      const startedAt = nowMs();
      const posted: Posted[] =
        rate === 'flat'
          ? await closedLoop(options.flatConcurrency, options.seconds, send, (n) => progress(label, `${n} posted`))
          : await openLoop(rate, options.seconds, send, (n, total) => progress(label, `${n}/${total} posted`));
      const ids = idsOf(posted);
      const unfinished = await waitUntilFinal(orders, ids, options.drainSeconds, (done) =>
        progress(label, `${done}/${ids.length} final`),
      );
      const cpu = cpuDelta(cpuBefore, snapshotCpu(groups));
      await new Promise((resolve) => setTimeout(resolve, 1500)); // pg_stat_database flushes about once a second
      const commits = (await commitsOf(adminUrl, Object.values(system.databases))) - commitsBefore;
      const { rows } = await orders.query<{ id: string; status: string; at: number }>(
        `SELECT id, status, extract(epoch FROM updated_at) * 1000 AS at FROM orders WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      const run = summarizeRun({
        replicas,
        rate,
        seconds: options.seconds,
        startedAt,
        posted,
        rows,
        unfinished,
        cpu,
        commits,
      });
      process.stdout.write('\n');
      console.log(
        `  ${label}: ${run.completedPerSecond.toFixed(1)} completed/s, p50 ${run.latencyMs.p50.toFixed(1)} ms, ` +
          `p99 ${run.latencyMs.p99.toFixed(1)} ms, ${run.errors.total} error(s), ${run.commitsPerOrder.toFixed(1)} commits/order`,
      );
      runs.push(run);
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
