import { waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Order, OrderLineRequest, PlaceOrderRequest, Product, ShopClient } from './shop-client';

/** Ten hex characters: unique enough for skus and customers of one run. */
export function uid(): string {
  return randomUUID().replace(/-/g, '').slice(0, 10);
}

/** `c-<label>-<random>`: every test its own customer, so filters see only its orders. */
export function newCustomer(label: string): string {
  return `c-${label}-${uid()}`;
}

/** PUTs a product of the test's own (`SKU-<LABEL>-<random>`) and returns its sku. */
export async function createProduct(
  client: ShopClient,
  label: string,
  product: { available: number; price?: number; name?: string },
): Promise<string> {
  const sku = `SKU-${label.toUpperCase()}-${uid()}`;
  await client.putProduct(sku, {
    name: product.name ?? `${label} product`,
    price: product.price ?? 1_000,
    available: product.available,
  });
  return sku;
}

/** An order request: lines as `[sku, quantity]` pairs. */
export function orderOf(
  customerId: string,
  lines: Array<[string, number]> | OrderLineRequest[],
  paymentToken = 'tok_visa',
): PlaceOrderRequest {
  const items = lines.map((line) => (Array.isArray(line) ? { sku: line[0], quantity: line[1] } : line));
  return { customerId, items, paymentToken };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A full saga through the running system: a fresh product and customer, one order, CONFIRMED and
 * notified. Once it is through, events queued before it (after a restart, say) have had their turn
 * too, so a check made afterwards does not pass merely because nothing happened yet.
 */
export async function runSentinelOrder(client: ShopClient, timeoutMs = 60_000): Promise<Order> {
  const sku = await createProduct(client, 'sentinel', { available: 1, price: 100 });
  const { order } = await client.placeOrder(orderOf(newCustomer('sentinel'), [[sku, 1]]));
  const confirmed = await client.waitForOrderStatus(order.id, 'CONFIRMED', { timeoutMs });
  await client.waitForNotification(order.id, 'ORDER_CONFIRMED', timeoutMs);
  return confirmed;
}

export interface ProductSamples {
  samples: number;
  minAvailable: number;
  maxAvailable: number;
  minReserved: number;
  maxReserved: number;
}

/** Reads a product over and over in the background until `stop()`: what it looked like meanwhile. */
export function sampleProduct(client: ShopClient, sku: string, intervalMs = 25) {
  const seen: Product[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        seen.push(await client.getProduct(sku));
      } catch {
        // a failed read is no sample
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop(): Promise<ProductSamples> {
      running = false;
      await loop;
      if (!seen.length) seen.push(await client.getProduct(sku));
      return {
        samples: seen.length,
        minAvailable: Math.min(...seen.map((p) => p.available)),
        maxAvailable: Math.max(...seen.map((p) => p.available)),
        minReserved: Math.min(...seen.map((p) => p.reserved)),
        maxReserved: Math.max(...seen.map((p) => p.reserved)),
      };
    },
  };
}

/** Waits until the product shows these `available` and `reserved` counts; the error says what it shows. */
export function waitForProduct(
  client: ShopClient,
  sku: string,
  expected: { available: number; reserved: number },
  timeoutMs = 30_000,
): Promise<Product> {
  return waitFor(
    async () => {
      const product = await client.getProduct(sku);
      return product.available === expected.available && product.reserved === expected.reserved ? product : false;
    },
    { timeoutMs, description: `${sku} to have ${JSON.stringify(expected)}` },
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}; now ${JSON.stringify(await client.getProduct(sku))}`);
  });
}
