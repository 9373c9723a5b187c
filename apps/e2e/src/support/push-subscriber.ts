import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@shop/testing';

/**
 * What a push subscriber answers a delivery: a status, or `hang` (never answer: the bridge's
 * BRIDGE_DELIVERY_TIMEOUT_MS has to end it).
 */
export type PushAnswer = number | 'hang';

/** One POST the bridge made to a subscriber, as received. */
export interface PushDelivery {
  /** Its place among the subscriber's deliveries, from 0. */
  seq: number;
  /** Date.now() once the whole body was read. */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body's bytes, as signed. */
  raw: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: PushedEvent | undefined;
  /** The `ce-id` header. */
  ceId: string | undefined;
  /** The how-manieth delivery of this ce-id to this subscriber, from 1. */
  attempt: number;
  /** What the subscriber answered. */
  answer: PushAnswer;
  /** A hanging delivery: Date.now() when the bridge gave up on it and closed the connection. */
  closedAt?: number;
}

/** A structured-mode CloudEvent as a subscriber receives it. */
export interface PushedEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype?: string;
  data: Record<string, unknown>;
  traceparent?: string;
  [extension: string]: unknown;
}

/** Chooses the answer of one delivery (its `attempt` counts the deliveries of its ce-id so far). */
export type Responder = (delivery: Omit<PushDelivery, 'answer' | 'closedAt'>) => PushAnswer;

/** The `X-Signature` of a body: `sha256=` and the hex HMAC-SHA256 of the raw bytes under the secret. */
export function signPushBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the signature of `body` under `secret` (compared in constant time, as a subscriber should). */
export function verifyPushSignature(secret: string, body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(signPushBody(secret, body));
  const actual = Buffer.from(header.trim().toLowerCase());
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A push subscriber for the bridge: a node:http server on 127.0.0.1 (a free port) that records every
 * request and answers what its responder says: 200 by default, any status, or nothing at all.
 */
export class PushSubscriber {
  readonly deliveries: PushDelivery[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly hanging = new Set<ServerResponse>();
  private closed = false;

  private readonly server: Server;
  private hookUrl = '';

  private constructor(private responder: Responder) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.record(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks), res));
      req.on('error', () => res.destroy());
    });
    // Keep-alive for longer than any test waits between two deliveries (the bridge reuses its sockets).
    this.server.keepAliveTimeout = 60_000;
  }

  /** `http://127.0.0.1:<port><path>` */
  get url(): string {
    return this.hookUrl;
  }

  /** Listens on 127.0.0.1 and a port the system picks; `url` is `http://127.0.0.1:<port><path>`. */
  static async start(responder: Responder = () => 200, path = '/hook'): Promise<PushSubscriber> {
    const subscriber = new PushSubscriber(responder);
    await new Promise<void>((resolve, reject) => {
      subscriber.server.once('error', reject);
      subscriber.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = subscriber.server.address() as AddressInfo;
    subscriber.hookUrl = `http://127.0.0.1:${port}${path}`;
    return subscriber;
  }

  /** Answers the next deliveries differently. */
  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  /** The deliveries answered with a 2xx: those the bridge counts as delivered. */
  acked(): PushDelivery[] {
    return this.deliveries.filter((d) => typeof d.answer === 'number' && d.answer >= 200 && d.answer < 300);
  }

  /** The deliveries of one event (by ce-id), in order. */
  of(ceId: string): PushDelivery[] {
    return this.deliveries.filter((d) => d.ceId === ceId);
  }

  /** Resolves with `probe`'s value once it is neither undefined nor false (re-checked as deliveries come). */
  waitFor<T>(probe: () => T | undefined | false, description: string, timeoutMs = 30_000): Promise<T> {
    return waitFor(probe, { timeoutMs, intervalMs: 20, description }).catch((error: Error) => {
      throw new Error(`${error.message} (${this.url} received ${this.deliveries.length} deliveries)`);
    });
  }

  /** Stops listening and drops every connection, hanging answers included. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closing;
  }

  private record(method: string, path: string, headers: IncomingHttpHeaders, raw: Buffer, res: ServerResponse): void {
    const ceId = typeof headers['ce-id'] === 'string' ? headers['ce-id'] : undefined;
    const key = ceId ?? '(no ce-id)';
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    let body: PushedEvent | undefined;
    try {
      body = JSON.parse(raw.toString('utf8')) as PushedEvent;
    } catch {
      body = undefined;
    }
    const seen = { seq: this.deliveries.length, at: Date.now(), method, path, headers, raw, body, ceId, attempt };
    let answer: PushAnswer;
    try {
      answer = this.responder(seen);
    } catch {
      answer = 500;
    }
    const delivery: PushDelivery = { ...seen, answer };
    this.deliveries.push(delivery);
    if (answer === 'hang') {
      this.hanging.add(res);
      res.on('close', () => {
        if (this.hanging.delete(res)) delivery.closedAt = Date.now();
      });
      return;
    }
    res.writeHead(answer, { 'content-type': 'text/plain' });
    res.end(answer >= 200 && answer < 300 ? 'ok' : `answered ${answer}`);
  }
}
