/**
 * Database outages under a closed-loop flood of requests: the four built apps on a PostgreSQL server of
 * their own, `--workers` clients each posting orders (a few Idempotency-Keys over and over) and reading
 * orders and products as fast as they are answered, while the server is stopped (`pg_ctl stop -m
 * fast`) `--outages` times. Prints the answers by status during each outage and overall, and the log
 * lines of any answer that was a 5xx other than 503 or a 503 without Retry-After; exits 1 then.
 * What the e2e suite checks at a steady pace, here at the highest concurrency the machine takes.
 *
 *   npm run bench:outage -- [--workers 20] [--outages 6] [--down-ms 1500]
 *
 * RABBITMQ_URL and DATABASE_URL as for the tests (the local services when unset; the database only
 * names the shared server the system is not on); the apps must be built.
 */
import { parseArgs } from 'node:util';
import { startPrivatePostgres } from '@shop/testing';
import { answerViolations, APPS, countByStatus, startSystem, type Answer } from '../../src/support';

process.env['RABBITMQ_URL'] ??= 'amqp://guest:guest@127.0.0.1:5672';
process.env['DATABASE_URL'] ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '20' },
    outages: { type: 'string', default: '6' },
    'down-ms': { type: 'string', default: '1500' },
  },
});
const workers = Number(args.workers);
const outages = Number(args.outages);
const downMs = Number(args['down-ms']);

async function main(): Promise<number> {
  const postgres = await startPrivatePostgres();
  const system = await startSystem({
    label: 'bench-outage',
    databaseServers: Object.fromEntries(APPS.map((app) => [app, postgres.url])),
  }).catch(async (error: unknown) => {
    await postgres.stop();
    throw error;
  });
  try {
    const answers: Answer[] = [];
    system.client.onAnswer((answer) => answers.push(answer));
    let running = true;
    const request = { customerId: 'c-outage-bench', items: [{ sku: 'SKU-1', quantity: 1 }], paymentToken: 'tok_visa' };
    const loops = Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; running; i++) {
        await Promise.all([
          system.client.placeOrderRaw(request, `bench-outage-${worker}-${i % 7}`),
          system.client.http('orders', `/orders?customerId=${request.customerId}`),
          system.client.http('inventory', '/products'),
        ]).catch(() => undefined);
      }
    });
    const windows: Array<{ label: string; from: number; to: number }> = [];
    for (let k = 0; k < outages; k++) {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      let from = Date.now();
      const { unreachableMs } = await postgres.outage(downMs + k * 300, () => (from = Date.now()));
      windows.push({ label: `outage ${k + 1} (${unreachableMs} ms)`, from, to: Date.now() });
      process.stdout.write(`outage ${k + 1}/${outages}: unreachable ${unreachableMs} ms\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    running = false;
    await Promise.all(loops);

    for (const { label, from, to } of windows) {
      const during = answers.filter((a) => a.at >= from && a.at <= to);
      process.stdout.write(`${label.padEnd(24)} ${JSON.stringify(countByStatus(during))}\n`);
    }
    process.stdout.write(`${'all'.padEnd(24)} ${JSON.stringify(countByStatus(answers))}\n`);
    const violations = answerViolations(answers);
    if (!violations.length) {
      process.stdout.write(`no 5xx but 503, every 503 with Retry-After: PASS (${answers.length} answers)\n`);
      return 0;
    }
    process.stdout.write(`FAIL:\n${violations.map((v) => `  - ${v}`).join('\n')}\n`);
    for (const p of system.processes()) {
      for (const line of p
        .output()
        .split('\n')
        .filter((l) => l.includes('HttpErrorFilter') && l.includes('"error"')))
        process.stdout.write(`${p.name}: ${line.slice(0, 2_000)}\n`);
    }
    return 1;
  } finally {
    await system.stop();
    await postgres.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
