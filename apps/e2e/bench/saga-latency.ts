/**
 * Saga latency and throughput of the whole system, the four built apps as real processes (not a test).
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register apps/e2e/bench/saga-latency.ts [sequential] [burst]
 *
 * 1. `sequential` orders (200 by default), one after the other: POST /orders → CONFIRMED, median, p99,
 *    max and an ASCII histogram. The end is seen on the notifications stream (SSE, ORDER_CONFIRMED), or
 *    by polling GET /orders/{id} every 10 ms with BENCH_MODE=poll.
 * 2. a burst of `burst` concurrent orders (200 by default): orders per second to a final state.
 *
 * RABBITMQ_URL and DATABASE_URL as for the tests (the local defaults when unset); the apps must be
 * built (`npx nx run-many -t build -p orders inventory payments notifications`).
 */
import { performance } from 'node:perf_hooks';
import {
  createProduct,
  FINAL_STATUSES,
  mapLimit,
  newCustomer,
  orderOf,
  startSystem,
  type NotificationStream,
  type ShopClient,
  type System,
} from '../src/support';

process.env['RABBITMQ_URL'] ??= 'amqp://guest:guest@127.0.0.1:5672';
process.env['DATABASE_URL'] ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const SEQUENTIAL = Number(process.argv[2] ?? 200);
const BURST = Number(process.argv[3] ?? 200);
const MODE = process.env['BENCH_MODE'] === 'poll' ? 'poll' : 'sse';
const WARM_UP = 5;

async function main(): Promise<void> {
  console.log(`starting the system (4 apps)...`);
  const started = performance.now();
  const system = await startSystem({ label: 'bench', env: { orders: { ORDER_TIMEOUT_MS: '600000' } } });
  console.log(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s; end of saga seen by ${MODE}`);
  try {
    await sequential(system.client);
    await burst(system);
  } finally {
    await system.stop();
  }
}

async function sequential(client: ShopClient): Promise<void> {
  const sku = await createProduct(client, 'bench', { available: 1_000_000, price: 100 });
  const customerId = newCustomer('bench');
  const stream = MODE === 'sse' ? await client.streamNotifications(customerId) : undefined;
  try {
    const latencies: number[] = [];
    for (let i = 0; i < WARM_UP + SEQUENTIAL; i++) {
      const t0 = performance.now();
      const { order } = await client.placeOrder(orderOf(customerId, [[sku, 1]]));
      await confirmed(client, stream, order.id);
      if (i >= WARM_UP) latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    console.log(`\n${SEQUENTIAL} sequential orders, POST /orders -> CONFIRMED (after ${WARM_UP} warm-up orders)`);
    console.log(
      `  median ${ms(percentile(latencies, 50))}  p90 ${ms(percentile(latencies, 90))}  ` +
        `p99 ${ms(percentile(latencies, 99))}  max ${ms(latencies[latencies.length - 1])}  ` +
        `mean ${ms(latencies.reduce((a, b) => a + b, 0) / latencies.length)}`,
    );
    console.log(histogram(latencies));
  } finally {
    stream?.close();
  }
}

async function burst(system: System): Promise<void> {
  const client = system.client;
  const sku = await createProduct(client, 'burst', { available: 1_000_000, price: 100 });
  const customerId = newCustomer('burst');
  const stream = MODE === 'sse' ? await client.streamNotifications(customerId) : undefined;
  try {
    const t0 = performance.now();
    const orders = await Promise.all(
      Array.from({ length: BURST }, async () => (await client.placeOrder(orderOf(customerId, [[sku, 1]]))).order),
    );
    const accepted = performance.now() - t0;
    const statuses = await mapLimit(orders, 50, async (order) => {
      if (stream) {
        const n = await stream.next(
          (x) => x.orderId === order.id && (x.type === 'ORDER_CONFIRMED' || x.type === 'ORDER_CANCELLED'),
          300_000,
        );
        return n.type === 'ORDER_CONFIRMED' ? 'CONFIRMED' : 'CANCELLED';
      }
      return (await client.waitForFinal(order.id, { timeoutMs: 300_000 })).status;
    });
    const elapsed = performance.now() - t0;
    const confirmedCount = statuses.filter((s) => s === 'CONFIRMED').length;
    console.log(`\nburst of ${BURST} concurrent orders`);
    console.log(`  all accepted (202) in ${ms(accepted)}, all final in ${ms(elapsed)}`);
    console.log(`  ${(BURST / (elapsed / 1000)).toFixed(1)} orders/s to a final state`);
    console.log(`  ${confirmedCount} CONFIRMED, ${BURST - confirmedCount} CANCELLED`);
  } finally {
    stream?.close();
  }
}

async function confirmed(client: ShopClient, stream: NotificationStream | undefined, orderId: string): Promise<void> {
  if (stream) {
    const n = await stream.next((x) => x.orderId === orderId && x.type !== 'PAYMENT_REFUNDED', 60_000);
    if (n.type !== 'ORDER_CONFIRMED') throw new Error(`order ${orderId} was cancelled`);
    return;
  }
  const order = await client.waitForOrderStatus(orderId, FINAL_STATUSES, { timeoutMs: 60_000, intervalMs: 10 });
  if (order.status !== 'CONFIRMED')
    throw new Error(`order ${orderId} was ${order.status}: ${order.cancellationReason}`);
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

/** Twelve buckets from the fastest to the p99; slower ones in a last bucket. */
function histogram(sorted: number[], buckets = 12, width = 50): string {
  if (!sorted.length) return '';
  const low = sorted[0];
  const high = Math.max(percentile(sorted, 99), low + 1);
  const step = (high - low) / buckets;
  const counts = new Array<number>(buckets + 1).fill(0);
  for (const value of sorted) {
    const index = value > high ? buckets : Math.min(buckets - 1, Math.floor((value - low) / step));
    counts[index]++;
  }
  const most = Math.max(...counts);
  const lines = counts.map((count, i) => {
    const label =
      i < buckets
        ? `${(low + i * step).toFixed(0).padStart(6)}-${(low + (i + 1) * step).toFixed(0).padEnd(6)} ms`
        : `   > ${high.toFixed(0).padEnd(8)} ms`;
    const bar = '#'.repeat(Math.round((count / most) * width));
    return `  ${label} |${bar.padEnd(width)} ${count}`;
  });
  return lines.join('\n');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
