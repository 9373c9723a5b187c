import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { expectStatus, type HttpResponse, type ShopClient } from './shop-client';

// The HTTP bridge as its callers see it: HTTP producers (POST /events), and whoever manages push
// subscriptions (POST/GET/DELETE /subscriptions) or reads its dead letters (GET /admin/dead-letters).

/** The attributes and data of a CloudEvent, as a producer sends it in structured mode. */
export interface OutgoingEvent {
  specversion?: unknown;
  id?: unknown;
  source?: unknown;
  type?: unknown;
  subject?: unknown;
  time?: unknown;
  dataschema?: unknown;
  datacontenttype?: unknown;
  data?: unknown;
  [extension: string]: unknown;
}

/** The 202 of POST /events. */
export interface EventReceipt {
  id: string;
  type: string;
  subject: string;
  duplicate: boolean;
}

export interface SubscriptionInput {
  name: string;
  types: string[];
  url: string;
  concurrency?: number;
  ratePerSecond?: number;
}

export interface Subscription {
  id: string;
  name: string;
  types: string[];
  url: string;
  concurrency: number;
  ratePerSecond: number;
  createdAt: string;
  queue: string;
}

/** The 201 of POST /subscriptions: the only answer that shows the secret. */
export interface CreatedSubscription extends Subscription {
  secret: string;
}

/** One entry of GET /admin/dead-letters. */
export interface DeadLetterEntry {
  queue: string;
  messageId: string;
  type: string;
  reason: string;
  attempts: number;
  firstDeadLetteredAt: string;
  error?: string;
  redrives: number;
  body: unknown;
}

/** The producer the contracts give `stock.adjusted`, and its source. */
export const ERP_SOURCE = 'urn:shop:erp';

/** A valid stock.adjusted of the ERP, in structured mode: a fresh id, no time (the bridge stamps one). */
export function stockAdjusted(
  sku: string,
  delta: number,
  overrides: Partial<OutgoingEvent> = {},
): OutgoingEvent & { id: string } {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: ERP_SOURCE,
    type: 'stock.adjusted',
    subject: sku,
    datacontenttype: 'application/json',
    data: { sku, delta, reason: delta > 0 ? 'goods-received' : 'stock-take' },
    ...overrides,
  } as OutgoingEvent & { id: string };
}

/** An HS256 bearer token for the bridge when it runs with AUTH_JWT_SECRET. */
export function bridgeToken(secret: string, subject: string, scope?: string, expiresIn = '30m'): Promise<string> {
  return new SignJWT({ ...(scope && { scope }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

export interface BridgeCredentials {
  /** The ERP's key of BRIDGE_PRODUCER_KEYS (or a token whose sub is erp): POST /events. */
  producer: string;
  /** A token with the scopes `subscriptions admin`, when the bridge checks tokens; none otherwise. */
  operator?: string;
}

export interface PublishOptions {
  /** `Authorization: Bearer <credential>`; the producer's by default, none with null. */
  credential?: string | null;
  headers?: Record<string, string>;
}

/** A typed client of the bridge, on a ShopClient (which spreads requests over its replicas). */
export class BridgeClient {
  constructor(
    private readonly shop: ShopClient,
    private readonly credentials: BridgeCredentials,
  ) {}

  private auth(credential: string | null | undefined): Record<string, string> {
    const value = credential === undefined ? this.credentials.producer : credential;
    return value === null ? {} : { authorization: `Bearer ${value}` };
  }

  private operator(): Record<string, string> {
    return this.credentials.operator ? { authorization: `Bearer ${this.credentials.operator}` } : {};
  }

  /** POST /events in structured mode (the whole event as application/cloudevents+json), raw answer. */
  publish(event: OutgoingEvent, options: PublishOptions = {}): Promise<HttpResponse<EventReceipt>> {
    return this.shop.http<EventReceipt>('bridge', '/events', {
      method: 'POST',
      body: JSON.stringify(event),
      headers: { 'content-type': 'application/cloudevents+json', ...this.auth(options.credential), ...options.headers },
    });
  }

  /**
   * POST /events in binary mode: each attribute (but data) as a `ce-*` header (percent-encoded),
   * the data as the application/json body. Raw answer.
   */
  publishBinary(event: OutgoingEvent, options: PublishOptions = {}): Promise<HttpResponse<EventReceipt>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(event)) {
      if (name === 'data' || name === 'datacontenttype' || value === undefined) continue;
      headers[`ce-${name}`] = encodeURIComponent(String(value));
    }
    return this.shop.http<EventReceipt>('bridge', '/events', {
      method: 'POST',
      body: JSON.stringify(event.data),
      headers: { ...headers, ...this.auth(options.credential), ...options.headers },
    });
  }

  /** POST /events (structured), expecting a 202. */
  async published(event: OutgoingEvent, options: PublishOptions = {}): Promise<EventReceipt> {
    const response = await this.publish(event, options);
    expectStatus(response, [202], 'POST /events');
    return response.body;
  }

  createSubscriptionRaw(input: unknown): Promise<HttpResponse<CreatedSubscription>> {
    return this.shop.http<CreatedSubscription>('bridge', '/subscriptions', {
      method: 'POST',
      body: input,
      headers: this.operator(),
    });
  }

  /** POST /subscriptions, expecting a 201. */
  async subscribe(input: SubscriptionInput): Promise<CreatedSubscription> {
    const response = await this.createSubscriptionRaw(input);
    expectStatus(response, [201], 'POST /subscriptions');
    return response.body;
  }

  async subscriptions(): Promise<Subscription[]> {
    const response = await this.shop.http<Subscription[]>('bridge', '/subscriptions', { headers: this.operator() });
    expectStatus(response, [200], 'GET /subscriptions');
    return response.body;
  }

  subscription(id: string): Promise<HttpResponse<Subscription>> {
    return this.shop.http<Subscription>('bridge', `/subscriptions/${id}`, { headers: this.operator() });
  }

  deleteSubscriptionRaw(id: string): Promise<HttpResponse> {
    return this.shop.http('bridge', `/subscriptions/${id}`, { method: 'DELETE', headers: this.operator() });
  }

  /** DELETE /subscriptions/{id}, expecting a 204. */
  async unsubscribe(id: string): Promise<void> {
    expectStatus(await this.deleteSubscriptionRaw(id), [204], `DELETE /subscriptions/${id}`);
  }

  /** GET /admin/dead-letters?queue= (all of the bridge's queues without one). */
  async deadLetters(queue?: string): Promise<DeadLetterEntry[]> {
    const path = `/admin/dead-letters?limit=1000${queue ? `&queue=${encodeURIComponent(queue)}` : ''}`;
    const response = await this.shop.http<DeadLetterEntry[]>('bridge', path, { headers: this.operator() });
    expectStatus(response, [200], `GET ${path}`);
    return response.body;
  }
}
