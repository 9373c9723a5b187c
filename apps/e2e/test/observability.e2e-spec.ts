import { waitFor } from '@shop/testing';
import {
  createProduct,
  newCustomer,
  orderOf,
  OtlpCollector,
  SpanKind,
  startSystem,
  waitForProduct,
  type AppName,
  type CollectedSpan,
  type ShopClient,
  type System,
} from '../src/support';

/**
 * One order, seen from outside as an operator sees it: one trace across the four services (exported
 * over OTLP to an in-memory collector), metrics that move, and one JSON log line per event handled.
 */

const APPS: AppName[] = ['orders', 'inventory', 'payments', 'notifications'];
const TEST_TIMEOUT = 90_000;
/** OTLP status code of a span that ended in error. */
const ERROR = 2;

describe('observability', () => {
  let collector: OtlpCollector;
  let system: System;
  let client: ShopClient;

  beforeAll(async () => {
    collector = await OtlpCollector.start();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'log',
    };
    system = await startSystem({
      label: 'observability',
      env: { orders: otel, inventory: otel, payments: otel, notifications: otel },
    });
    client = system.client;
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await collector?.close();
  }, 60_000);

  /** Each app's /metrics text. */
  async function metricsOf(apps: AppName[]): Promise<Record<AppName, string>> {
    return Object.fromEntries(
      await Promise.all(apps.map(async (app) => [app, (await client.http(app, '/metrics')).text] as const)),
    ) as Record<AppName, string>;
  }

  /**
   * Places an order as a well-behaved client does (a 503 of admission control retried after its
   * Retry-After: what this suite watches is the telemetry, not the admission), and returns it with the
   * trace id its accepting POST answered with.
   */
  async function place(label: string, paymentToken = 'tok_visa', quantity = 2) {
    const sku = await createProduct(client, label, { available: 10, price: 700 });
    const customerId = newCustomer(label);
    const { order, response } = await client.placeOrder(orderOf(customerId, [[sku, quantity]], paymentToken));
    const [, traceId] = (response.headers.get('traceparent') ?? '').split('-');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    return { orderId: order.id, traceId, sku, customerId };
  }

  /**
   * Waits until the trace has a span of each name and the parent of every span but one (spans are
   * exported in batches, per process: a child may come in before its parent).
   */
  function spansOf(traceId: string, names: string[]): Promise<CollectedSpan[]> {
    return waitFor(
      () => {
        const spans = collector.trace(traceId);
        const ids = new Set(spans.map((span) => span.spanId));
        const roots = spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId));
        const named = names.every((name) => spans.some((span) => span.name === name && span.status !== ERROR));
        return named && roots.length === 1 ? spans : undefined;
      },
      { timeoutMs: 30_000, description: `spans ${names.join(', ')} of trace ${traceId}` },
    );
  }

  function expectOneTree(spans: CollectedSpan[]): CollectedSpan {
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const roots = spans.filter((span) => !span.parentSpanId || !byId.has(span.parentSpanId));
    // One root, the POST /orders server span; every other span hangs under it.
    expect(roots.map((r) => [r.service, r.kind, r.attributes['http.request.method'] ?? r.name])).toEqual([
      ['orders', SpanKind.server, 'POST'],
    ]);
    return roots[0];
  }

  /**
   * The span in which `service` handled one event. Earlier attempts of the same message may have failed
   * and been retried (inventory.reserved can overtake order.placed, and payments retries until the order
   * arrives): they end in error; exactly one attempt succeeds.
   */
  const handled = (spans: CollectedSpan[], service: string, name: string) => {
    const attempts = spans.filter((span) => span.service === service && span.name === name);
    const succeeded = attempts.filter((span) => span.status !== ERROR);
    expect(succeeded.map((s) => `${s.service} ${s.name}`)).toEqual([`${service} ${name}`]);
    expect(new Set(attempts.map((span) => span.attributes['messaging.message.id'])).size).toBe(1);
    return succeeded[0];
  };

  const parentOf = (spans: CollectedSpan[], span: CollectedSpan) =>
    spans.find((candidate) => candidate.spanId === span.parentSpanId);

  it(
    'follows one order in one trace across all four services, each span under its cause',
    async () => {
      const { orderId, traceId } = await place('traced');
      await client.waitForOrderStatus(orderId, 'CONFIRMED');
      const spans = await spansOf(traceId, [
        'process inventory.stock-saga.on-placed',
        'process payments.payment-saga.on-reserved',
        'process orders.order-saga.on-captured',
        'process notifications.customer-notifier.on-confirmed',
        'process inventory.stock-saga.on-confirmed',
      ]);

      expect(new Set(spans.map((span) => span.service))).toEqual(new Set(APPS));
      const root = expectOneTree(spans);

      // order.placed: created in the request, published by orders, processed by inventory.
      const processed = handled(spans, 'inventory', 'process inventory.stock-saga.on-placed');
      expect(processed.kind).toBe(SpanKind.consumer);
      expect(processed.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'orders',
        'messaging.rabbitmq.destination.routing_key': 'order.placed',
        'messaging.destination.subscription.name': 'inventory.stock-saga.on-placed',
        'messaging.message.conversation_id': orderId,
      });
      const published = parentOf(spans, processed) as CollectedSpan;
      expect([published.service, published.name, published.kind]).toEqual([
        'orders',
        'publish orders',
        SpanKind.producer,
      ]);
      expect(published.attributes['messaging.message.id']).toBe(processed.attributes['messaging.message.id']);
      const created = parentOf(spans, published) as CollectedSpan;
      expect([created.service, created.name, created.kind]).toEqual(['orders', 'create orders', SpanKind.producer]);
      // ... inside the request's transaction, inside the request.
      let ancestor: CollectedSpan | undefined = created;
      while (ancestor && ancestor !== root) ancestor = parentOf(spans, ancestor);
      expect(ancestor).toBe(root);

      // The next hop continues from the handler: inventory.reserved is created inside inventory's processing.
      const reserved = handled(spans, 'payments', 'process payments.payment-saga.on-reserved');
      const reservedPublish = parentOf(spans, reserved) as CollectedSpan;
      const reservedCreate = parentOf(spans, reservedPublish) as CollectedSpan;
      expect([reservedPublish.service, reservedPublish.name]).toEqual(['inventory', 'publish inventory']);
      let up: CollectedSpan | undefined = reservedCreate;
      while (up && up !== processed) up = parentOf(spans, up);
      expect(up).toBe(processed);

      // Handler transactions and their queries are spans of the handler.
      expect(spans.some((s) => s.service === 'inventory' && s.name === 'transaction')).toBe(true);
      expect(spans.some((s) => s.service === 'inventory' && s.name.startsWith('pg.query'))).toBe(true);
    },
    TEST_TIMEOUT,
  );

  it(
    'keeps the compensation of a declined order in the same trace',
    async () => {
      const { orderId, traceId } = await place('declined', 'tok_declined');
      const cancelled = await client.waitForOrderStatus(orderId, 'CANCELLED');
      expect(cancelled.cancellationReason).toBe('PAYMENT_DECLINED');
      const spans = await spansOf(traceId, [
        'process orders.order-saga.on-declined',
        'process inventory.stock-saga.on-cancelled',
        'process notifications.customer-notifier.on-cancelled',
      ]);
      expectOneTree(spans);
      expect(new Set(spans.map((span) => span.service))).toEqual(new Set(APPS));
    },
    TEST_TIMEOUT,
  );

  it(
    'moves the metrics of every app as an order goes through',
    async () => {
      const scrape = () => metricsOf(APPS);
      const before = await scrape();
      const { orderId, sku } = await place('metrics', 'tok_visa', 3);
      await client.waitForOrderStatus(orderId, 'CONFIRMED');
      await client.waitForNotification(orderId, 'ORDER_CONFIRMED');
      await waitForProduct(client, sku, { available: 7, reserved: 0 });

      const after = await waitFor(
        async () => {
          const now = await scrape();
          return value(now.notifications, 'messaging_consumed_total', {
            queue: 'notifications.customer-notifier.on-confirmed',
          }) >
            value(before.notifications, 'messaging_consumed_total', {
              queue: 'notifications.customer-notifier.on-confirmed',
            })
            ? now
            : undefined;
        },
        { description: 'notifications counted the order.confirmed it consumed' },
      );
      const delta = (app: AppName, name: string, labels: Record<string, string> = {}) =>
        value(after[app], name, labels) - value(before[app], name, labels);

      expect({
        httpPost: delta('orders', 'http_request_duration_seconds_count', {
          method: 'POST',
          route: '/orders',
          status_code: '202',
        }),
        placedPublished: delta('orders', 'messaging_published_total', { event_type: 'order.placed' }),
        placedConfirmed: delta('orders', 'messaging_publish_confirmed_total', { event_type: 'order.placed' }),
        placedConsumed: delta('inventory', 'messaging_consumed_total', {
          queue: 'inventory.stock-saga.on-placed',
          event_type: 'order.placed',
        }),
        handlerTimed: delta('inventory', 'messaging_handler_duration_seconds_count', {
          queue: 'inventory.stock-saga.on-placed',
        }),
        captured: delta('payments', 'messaging_publish_confirmed_total', { event_type: 'payment.captured' }),
        confirmedOrders: delta('orders', 'orders_by_status', { status: 'CONFIRMED' }),
        stockOfSku: value(after.inventory, 'inventory_stock_available', { sku }),
      }).toEqual({
        httpPost: 1,
        placedPublished: 1,
        placedConfirmed: 1,
        placedConsumed: 1,
        handlerTimed: 1,
        captured: 1,
        confirmedOrders: 1,
        stockOfSku: 7,
      });
      for (const app of APPS) {
        expect(value(after[app], 'messaging_connection_up')).toBe(1);
        expect(after[app]).toMatch(/^messaging_outbox_backlog \d+/m);
        expect(after[app]).toMatch(/^messaging_outbox_oldest_age_seconds [\d.e+-]+/m);
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'shares commits under a burst: orders, payments and notifications each commit some handlers together (group commit)',
    async () => {
      const GROUPING: AppName[] = ['orders', 'payments', 'notifications'];
      const scrape = () => metricsOf(GROUPING);
      const before = await scrape();
      const sku = await createProduct(client, 'burst', { available: 1_000, price: 300 });
      const customerId = newCustomer('burst');
      // Forty at once: while one transaction commits, the others queue for the app's lane. On a slow
      // machine admission control may refuse some of a burst (503, Retry-After): they come again.
      const ids = await Promise.all(
        Array.from({ length: 40 }, async () => (await client.placeOrder(orderOf(customerId, [[sku, 1]]))).order.id),
      );
      for (const id of ids) await client.waitForNotification(id, 'ORDER_CONFIRMED');
      const after = await scrape();
      const grouped = Object.fromEntries(
        GROUPING.map((app) => {
          const groups = (text: string) => value(text, 'messaging_group_commit_size_count', { outcome: 'committed' });
          const members = (text: string) => value(text, 'messaging_group_commit_size_sum', { outcome: 'committed' });
          const count = groups(after[app]) - groups(before[app]);
          const sum = members(after[app]) - members(before[app]);
          // a group has two members at least; what each app grouped is a share of the burst
          return [app, count > 0 && sum >= 2 * count && sum <= 3 * ids.length];
        }),
      );
      expect(grouped).toEqual({ orders: true, payments: true, notifications: true });
    },
    TEST_TIMEOUT,
  );

  it(
    'logs one JSON line per event handled, with its trace id, order id, event id and type',
    async () => {
      const { orderId, traceId } = await place('logged');
      await client.waitForOrderStatus(orderId, 'CONFIRMED');
      const line = await waitFor(
        () =>
          jsonLines(system.output('inventory')).find(
            (entry) => entry['event_type'] === 'order.placed' && entry['order_id'] === orderId,
          ),
        { description: 'the inventory log line of the order.placed it handled' },
      );
      expect(line).toMatchObject({
        level: 'info',
        app: 'inventory',
        trace_id: traceId,
        order_id: orderId,
        event_type: 'order.placed',
        queue: 'inventory.stock-saga.on-placed',
        outcome: 'ack',
      });
      expect(line['event_id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(typeof line['duration_ms']).toBe('number');
      // The request itself: one line, with its request id and trace.
      const request = jsonLines(system.output('orders')).find(
        (entry) => (entry['req'] as { url?: string } | undefined)?.url === '/orders' && entry['trace_id'] === traceId,
      );
      expect(request).toMatchObject({ res: { statusCode: 202 } });
      expect((request?.['req'] as { id?: string }).id).toMatch(/\S/);
    },
    TEST_TIMEOUT,
  );
});

/** Sum of the samples of `name` whose labels include `labels` (Prometheus text format). */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(match[4]);
  }
  return sum;
}

function jsonLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
