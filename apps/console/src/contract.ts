/**
 * What the console's server answers its page: the shapes of `/api` and of the live streams, declared
 * once and imported by both sides (the server's modules; the page's `web/src/api.ts`, as types only).
 */

/** What an `/api` call to an app answers: the app's own answer, or why it had none. */
export interface Outcome<T = unknown, App extends string = string> {
  app: App;
  ok: boolean;
  /** The app's HTTP status; null when it did not answer. */
  status: number | null;
  body?: T;
  /** Why the app could not be asked: one sentence for a person. */
  error?: string;
  /** The same without the app's name (`connection refused`). */
  reason?: string;
}

/** An order as orders answers it (SPEC.md): what the page shows beside its steps. */
export interface OrderView {
  id: string;
  customerId: string;
  status: 'PENDING' | 'CONFIRMED' | 'CANCELLED';
  total: number | null;
  currency: string;
  cancellationReason: string | null;
  items: Array<{ sku: string; quantity: number; unitPrice: number | null }>;
  createdAt: string;
  updatedAt: string;
}

/** A notification of the customer, as notifications answers it and streams it. */
export interface NotificationView {
  id: string;
  customerId: string;
  orderId: string;
  type: string;
  message: string;
  createdAt: string;
}

/**
 * One step of an order's saga as the page shows it: an archived CloudEvent (orders' GET /events)
 * reduced to what a person reads, with a link to its trace when Jaeger's UI is configured.
 */
export interface SagaStep {
  /** The CloudEvent id: the page deduplicates by it, EventSource resumes after it. */
  id: string;
  type: string;
  /** The app that published it (`urn:shop:<app>`). */
  producer: string;
  time: string;
  /** `saga` on the way to CONFIRMED, `compensation` for what undoes or refuses it. */
  path: 'saga' | 'compensation';
  summary: string;
  traceId: string | null;
  traceUrl: string | null;
}

/** A message in a dead-letter queue, as GET /admin/dead-letters answers it (SPEC.md). */
export interface DeadLetterView {
  queue: string;
  messageId: string | null;
  type: string | null;
  reason: string;
  attempts: number;
  firstDeadLetteredAt: string | null;
  error?: string | null;
  redrives?: number;
  body: unknown;
}

export interface AppStatus<App extends string = string> {
  name: App;
  /** up: ready; degraded: answers, but not ready (what is down in `readiness`); down: does not answer. */
  state: 'up' | 'degraded' | 'down';
  readiness: string;
  broker: { connected: boolean | null; node: string | null };
  outbox: { backlog: number | null; oldestAgeSeconds: number | null };
  deadLetters: { error: string | null; items: DeadLetterView[] };
  checkedAt: string;
}

export interface StatusPoint {
  at: string;
  PENDING: number;
  CONFIRMED: number;
  CANCELLED: number;
}

export interface SystemSnapshot<App extends string = string> {
  at: string;
  apps: AppStatus<App>[];
  /** Orders by status (orders' `orders_by_status`), one point every few seconds. */
  history: StatusPoint[];
}
