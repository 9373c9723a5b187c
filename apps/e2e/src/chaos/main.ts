/**
 * `npm run chaos -- [--orders 1000] [--seed 42] [--concurrency 10] [--rate 15] [--order-timeout-ms 30000]
 *   [--failure-rate 0.1] [--duplicate-rate 0.05] [--poison 5] [--kills N] [--cluster 3] [--rabbitmq-url URL]
 *   [--database-url URL] [--reports-dir reports]`
 * (each also as env CHAOS_ORDERS, CHAOS_SEED, ..., CHAOS_RABBITMQ_URL, CHAOS_DATABASE_URL).
 *
 * Starts the whole system (two replicas of every app) on a private RabbitMQ node and a private
 * PostgreSQL cluster, drives a seeded load of orders while injecting faults, checks the invariants,
 * prints a table and writes reports/chaos-<timestamp>.{json,md,svg}. Exits 1 when any invariant fails.
 *
 * `--cluster 3`: the same on a private three-node RabbitMQ cluster (this machine's rabbitmq-server), every
 * app given all three nodes; instead of the broker restart, the node leading the saga's queues is SIGKILLed
 * and brought back, then another, then a third is cut off with `stop_app` (reports/chaos-cluster-*).
 */
import { join } from 'node:path';
import { DEFAULT_OPTIONS, runChaos, runCleanups, type ChaosOptions } from './chaos';
import { formatTable, writeReports } from './report';

function parseArgs(argv: string[]): { options: Partial<ChaosOptions>; reportsDir: string } {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: npm run chaos -- [--orders N] [--seed N] [--concurrency N] [--rate N] [--order-timeout-ms N] [--failure-rate R]\n' +
          '       [--duplicate-rate R] [--poison N] [--kills N] [--cluster N] [--rabbitmq-url URL] [--database-url URL]\n' +
          '       [--reports-dir DIR]\n',
      );
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags[name] = value;
  }
  const get = (name: string) => flags[name] ?? process.env[`CHAOS_${name.toUpperCase().replace(/-/g, '_')}`];
  const num = (name: string, fallback: number, integer = true): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0)
      throw new Error(`--${name}: not a valid number: ${raw}`);
    return n;
  };
  const known = [
    'orders',
    'seed',
    'concurrency',
    'rate',
    'order-timeout-ms',
    'failure-rate',
    'duplicate-rate',
    'poison',
    'kills',
    'cluster',
    'rabbitmq-url',
    'database-url',
    'reports-dir',
  ];
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new Error(`unknown option --${name}`);
  const kills = get('kills');
  const cluster = num('cluster', DEFAULT_OPTIONS.cluster);
  if (cluster > 0 && cluster < 3) throw new Error(`--cluster: 3 nodes or more, so that one may die (got ${cluster})`);
  if (cluster > 0 && get('rabbitmq-url')) throw new Error('--cluster starts its own nodes: give no --rabbitmq-url');
  return {
    options: {
      orders: num('orders', DEFAULT_OPTIONS.orders),
      seed: num('seed', DEFAULT_OPTIONS.seed),
      concurrency: Math.max(1, num('concurrency', DEFAULT_OPTIONS.concurrency)),
      rate: Math.max(0.1, num('rate', DEFAULT_OPTIONS.rate, false)),
      orderTimeoutMs: num('order-timeout-ms', DEFAULT_OPTIONS.orderTimeoutMs),
      transientFailureRate: num('failure-rate', DEFAULT_OPTIONS.transientFailureRate, false),
      duplicateRate: num('duplicate-rate', DEFAULT_OPTIONS.duplicateRate, false),
      poisonMessages: num('poison', DEFAULT_OPTIONS.poisonMessages),
      appKills: kills === undefined ? undefined : num('kills', 0),
      cluster,
      rabbitmqUrl: get('rabbitmq-url') || undefined,
      databaseUrl: get('database-url') || undefined,
    },
    reportsDir: get('reports-dir') ?? join(process.cwd(), 'reports'),
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n`);
    return 2;
  }
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nchaos: ${signal}: cleaning up (system, vhost, private broker, private postgres)...\n`);
    void runCleanups((line) => process.stderr.write(`${line}\n`)).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const report = await runChaos(parsed.options);
  process.stdout.write(`\n${formatTable(report)}\n`);
  const files = await writeReports(report, parsed.reportsDir);
  process.stdout.write(`\nreports: ${files.join(', ')}\n`);
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`chaos: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
