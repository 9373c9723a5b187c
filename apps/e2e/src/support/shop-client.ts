import { randomUUID } from 'node:crypto';
import { waitFor } from '@shop/testing';
import type { AppName } from './app-process';

// The shapes of SPEC.md, as a client sees them.

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';
export type CancellationReason = 'OUT_OF_STOCK' | 'PAYMENT_DECLINED' | 'CUSTOMER_REQUEST' | 'TIMEOUT';
export type PaymentStatus = 'CAPTURED' | 'DECLINED' | 'REFUNDED';
export type NotificationType = 'ORDER_CONFIRMED' | 'ORDER_CANCELLED' | 'PAYMENT_REFUNDED';

export interface OrderLineRequest {
  sku: string;
  quantity: number;
}

export interface PlaceOrderRequest {
  customerId: string;
  items: OrderLineRequest[];
  paymentToken: string;
}

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number | null;
}

export interface Order {
  id: string;
  customerId: string;
  status: OrderStatus;
  items: OrderLine[];
  total: number | null;
  currency: string;
  cancellationReason: CancellationReason | null;
  createdAt: string;
  updatedAt: string;
}

export interface OrderPage {
  items: Order[];
  nextCursor: string | null;
}

/** One event of GET /orders/{id}/timeline. */
export interface TimelineEvent {
  id: string;
  type: string;
  /** The app that published it. */
  producer: AppName;
  time: string;
  traceId: string | null;
  causationId?: string;
  summary?: string;
}

export interface OrderTimeline {
  orderId: string;
  events: TimelineEvent[];
}

/** One event of GET /events?subject=: the CloudEvent as it was published. */
export interface ArchivedEvent {
  specversion: '1.0';
  id: string;
  type: string;
  source: string;
  time: string;
  subject: string;
  data: Record<string, unknown>;
  traceparent?: string;
  [extension: string]: unknown;
}

/** GET /admin/projections/{name}. */
export interface ProjectionStatus {
  name: string;
  state: 'live' | 'rebuilding';
  position: number | null;
  events: number;
  eventsPerSecond?: number;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ProductInput {
  name: string;
  price: number;
  available: number;
}

export interface Product extends ProductInput {
  sku: string;
  reserved: number;
}

export interface Payment {
  id: string;
  orderId: string;
  amount: number;
  status: PaymentStatus;
  reason: string | null;
}

export interface Notification {
  id: string;
  customerId: string;
  orderId: string;
  type: NotificationType;
  message: string;
  createdAt: string;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  body: T;
  text: string;
}

export interface RequestOptions {
  method?: string;
  /** An object is sent as JSON; a string is sent as it is, with `Content-Type: application/json`. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One HTTP answer as a client saw it (`status` 0: no answer at all, the connection failed). */
export interface Answer {
  /** Date.now() when it came. */
  at: number;
  app: AppName;
  /** `GET /orders/{id}`: the method and the path without its query. */
  what: string;
  status: number;
  retryAfter: string | null;
  /** SPEC.md's error `message`, for an error answer. */
  message?: string[];
}

export const FINAL_STATUSES: readonly OrderStatus[] = ['CONFIRMED', 'CANCELLED'];

/**
 * A small typed client of the four apps' HTTP APIs. `baseUrl(app)` says where to send each request
 * (a system spreads them over the running replicas). Helpers that expect success throw an error with
 * the status and body of any other answer; `http()` gives the raw answer for contract tests.
 */
export class ShopClient {
  private readonly listeners = new Set<(answer: Answer) => void>();

  constructor(private readonly baseUrl: (app: AppName) => string) {}

  /** Calls `listener` with every answer (or failed connection) of this client, until the returned function is called. */
  onAnswer(listener: (answer: Answer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async http<T = unknown>(app: AppName, path: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    if (!this.listeners.size) return this.request<T>(app, path, options);
    const what = `${options.method ?? (options.body === undefined ? 'GET' : 'POST')} ${path.split('?')[0]}`;
    const tell = (answer: Answer) => this.listeners.forEach((listener) => listener(answer));
    try {
      const response = await this.request<T>(app, path, options);
      const message = (response.body as { message?: unknown } | undefined)?.message;
      tell({
        at: Date.now(),
        app,
        what,
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        ...(response.status >= 400 && Array.isArray(message) && { message: message.map(String) }),
      });
      return response;
    } catch (error) {
      tell({ at: Date.now(), app, what, status: 0, retryAfter: null, message: [(error as Error).message] });
      throw error;
    }
  }

  private async request<T>(app: AppName, path: string, options: RequestOptions): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const method = options.method ?? (body === undefined ? 'GET' : 'POST');
    const response = await fetch(`${this.baseUrl(app)}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let parsed: unknown;
    if (/json/i.test(response.headers.get('content-type') ?? '')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  // orders

  /**
   * POST /orders, expecting a 202, as a well-behaved client: answered 503 with Retry-After (admission
   * control refusing, a dependency out of reach), it comes back after Retry-After with the same
   * Idempotency-Key (one of its own when none is given), for up to `retryForMs`. placeOrderRaw
   * answers the first response, whatever it is.
   */
  async placeOrder(
    request: PlaceOrderRequest,
    options: { idempotencyKey?: string; retryForMs?: number } = {},
  ): Promise<{ order: Order; location: string | null; response: HttpResponse<Order> }> {
    const key = options.idempotencyKey ?? `e2e-${randomUUID()}`;
    const deadline = Date.now() + (options.retryForMs ?? 60_000);
    let response = await this.placeOrderRaw(request, key);
    while (comeBackLater(response) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * Number(response.headers.get('retry-after'))));
      response = await this.placeOrderRaw(request, key);
    }
    expectStatus(response, [202], 'POST /orders');
    return { order: response.body, location: response.headers.get('location'), response };
  }

  placeOrderRaw(body: unknown, idempotencyKey?: string): Promise<HttpResponse<Order>> {
    const headers: Record<string, string> = {};
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    return this.http<Order>('orders', '/orders', { method: 'POST', body, headers });
  }

  async getOrder(id: string): Promise<Order> {
    const response = await this.http<Order>('orders', `/orders/${id}`);
    expectStatus(response, [200], `GET /orders/${id}`);
    return response.body;
  }

  async listOrders(
    query: { customerId?: string; status?: string; limit?: number | string; cursor?: string } = {},
  ): Promise<OrderPage> {
    const response = await this.http<OrderPage>('orders', `/orders${queryString(query)}`);
    expectStatus(response, [200], `GET /orders${queryString(query)}`);
    return response.body;
  }

  /** GET /orders/{id}/timeline, expecting a 200: the events about the order projected so far. */
  async timeline(orderId: string): Promise<OrderTimeline> {
    const response = await this.http<OrderTimeline>('orders', `/orders/${orderId}/timeline`);
    expectStatus(response, [200], `GET /orders/${orderId}/timeline`);
    return response.body;
  }

  /**
   * Polls the timeline until every one of `types` is in it (the projection folds its events a moment
   * after they happen); the error shows the last timeline seen.
   */
  async waitForTimeline(orderId: string, types: readonly string[], timeoutMs = 30_000): Promise<OrderTimeline> {
    let last: OrderTimeline | undefined;
    try {
      return await waitFor(
        async () => {
          last = await this.timeline(orderId);
          const seen = last.events.map((e) => e.type);
          return types.every((type) => seen.includes(type)) ? last : undefined;
        },
        { timeoutMs, intervalMs: 100, description: `the timeline of ${orderId} to have ${types.join(', ')}` },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last?.events.map((e) => e.type))}`);
    }
  }

  /** GET /events?subject={orderId}: the order's events from the archive, in publish order, every page. */
  async archivedEvents(orderId: string): Promise<ArchivedEvent[]> {
    const events: ArchivedEvent[] = [];
    for (;;) {
      const after = events.length ? `&after=${events[events.length - 1].id}` : '';
      const response = await this.http<ArchivedEvent[]>('orders', `/events?subject=${orderId}&limit=100${after}`);
      expectStatus(response, [200], `GET /events?subject=${orderId}`);
      events.push(...response.body);
      if (response.body.length < 100) return events;
    }
  }

  /** GET /admin/projections/{name}. */
  async projection(name: string): Promise<ProjectionStatus> {
    const response = await this.http<ProjectionStatus>('orders', `/admin/projections/${name}`);
    expectStatus(response, [200], `GET /admin/projections/${name}`);
    return response.body;
  }

  /** POST /orders/{id}/cancel, raw: 202, 404, 409... */
  cancel(id: string): Promise<HttpResponse> {
    return this.http('orders', `/orders/${id}/cancel`, { method: 'POST' });
  }

  /** Polls GET /orders/{id} until its status is one of `statuses`; the error names the last state seen. */
  async waitForOrderStatus(
    id: string,
    statuses: OrderStatus | readonly OrderStatus[],
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<Order> {
    const wanted: readonly OrderStatus[] = typeof statuses === 'string' ? [statuses] : statuses;
    let last: Order | undefined;
    try {
      return await waitFor(
        async () => {
          last = await this.getOrder(id);
          return wanted.includes(last.status) ? last : undefined;
        },
        {
          timeoutMs: options.timeoutMs ?? 30_000,
          intervalMs: options.intervalMs ?? 100,
          description: `order ${id} to be ${wanted.join(' or ')}`,
        },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
    }
  }

  waitForFinal(id: string, options: { timeoutMs?: number } = {}): Promise<Order> {
    return this.waitForOrderStatus(id, FINAL_STATUSES, options);
  }

  // inventory

  async putProduct(sku: string, product: ProductInput): Promise<HttpResponse> {
    const response = await this.http('inventory', `/products/${encodeURIComponent(sku)}`, {
      method: 'PUT',
      body: product,
    });
    expectStatus(response, [200, 201, 204], `PUT /products/${sku}`);
    return response;
  }

  async getProduct(sku: string): Promise<Product> {
    const response = await this.http<Product>('inventory', `/products/${encodeURIComponent(sku)}`);
    expectStatus(response, [200], `GET /products/${sku}`);
    return response.body;
  }

  async listProducts(): Promise<Product[]> {
    const response = await this.http<Product[]>('inventory', '/products');
    expectStatus(response, [200], 'GET /products');
    return response.body;
  }

  // payments

  async payments(orderId: string): Promise<Payment[]> {
    const response = await this.http<Payment[]>('payments', `/payments${queryString({ orderId })}`);
    expectStatus(response, [200], `GET /payments?orderId=${orderId}`);
    return response.body;
  }

  // notifications

  async notifications(query: { customerId?: string; orderId?: string }): Promise<Notification[]> {
    const response = await this.http<Notification[]>('notifications', `/notifications${queryString(query)}`);
    expectStatus(response, [200], `GET /notifications${queryString(query)}`);
    return response.body;
  }

  /** Polls GET /notifications?orderId= until one of `type` is there. */
  waitForNotification(orderId: string, type: NotificationType, timeoutMs = 30_000): Promise<Notification> {
    return waitFor(async () => (await this.notifications({ orderId })).find((n) => n.type === type), {
      timeoutMs,
      intervalMs: 100,
      description: `a ${type} notification for order ${orderId}`,
    });
  }

  /** GET /notifications/stream?customerId=: the notifications as they arrive. */
  async streamNotifications(customerId: string): Promise<NotificationStream> {
    return NotificationStream.open(
      `${this.baseUrl('notifications')}/notifications/stream${queryString({ customerId })}`,
    );
  }
}

/**
 * A Server-Sent Events subscription: every `data:` line parsed as JSON. `next()` resolves with the
 * first notification (already received or still to come) that matches.
 */
export class NotificationStream {
  readonly received: Notification[] = [];
  readonly contentType: string;
  private readonly waiters = new Set<() => void>();
  private ended: Error | undefined;

  private constructor(
    response: Response,
    private readonly abort: AbortController,
  ) {
    this.contentType = response.headers.get('content-type') ?? '';
    void this.read(response);
  }

  static async open(url: string): Promise<NotificationStream> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
    if (response.status !== 200 || !response.body) {
      abort.abort();
      throw new Error(`GET ${url} answered ${response.status}, not a stream`);
    }
    return new NotificationStream(response, abort);
  }

  next(matches: (n: Notification) => boolean = () => true, timeoutMs = 30_000): Promise<Notification> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find(matches);
        if (found) finish(undefined, found);
        else if (this.ended) finish(this.ended);
      };
      const finish = (error?: Error, found?: Notification) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (found) resolve(found);
        else reject(error);
      };
      const timer = setTimeout(
        () =>
          finish(
            new Error(
              `no matching notification on the stream within ${timeoutMs} ms; received ${JSON.stringify(this.received)}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.ended ??= new Error('stream closed');
    this.abort.abort();
  }

  private async read(response: Response): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        const lines = buffer.split(/\r?\n/);
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('data:')) continue;
          try {
            this.received.push(JSON.parse(line.slice(5).trim()) as Notification);
          } catch {
            // a data line that is not JSON: next() reports what was received
          }
        }
        for (const waiter of [...this.waiters]) waiter();
      }
      this.ended ??= new Error('the stream ended');
    } catch (error) {
      this.ended ??= new Error(`the stream failed: ${(error as Error).message}`);
    }
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** A 503 that says when to come back (Retry-After, seconds): admission control refusing, say. */
function comeBackLater(response: HttpResponse): boolean {
  const retryAfter = Number(response.headers.get('retry-after'));
  return response.status === 503 && Number.isFinite(retryAfter) && retryAfter > 0;
}

export function expectStatus(response: HttpResponse, expected: number[], what: string): void {
  if (!expected.includes(response.status)) {
    throw new Error(
      `${what} answered ${response.status} (expected ${expected.join(' or ')}): ${response.text.slice(0, 1_000)}`,
    );
  }
}

export function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
