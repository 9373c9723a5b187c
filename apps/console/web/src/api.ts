import { useEffect, useRef, useState } from 'react';

// What the console's server answers, declared once for both sides (types only: nothing of the server is bundled).
import type {
  AppStatus,
  DeadLetterView as DeadLetter,
  NotificationView as CustomerNotification,
  OrderView as Order,
  Outcome,
  SagaStep,
  StatusPoint,
  SystemSnapshot,
} from '../../src/contract';

export type { AppStatus, CustomerNotification, DeadLetter, Order, Outcome, SagaStep, StatusPoint, SystemSnapshot };

export interface Product {
  sku: string;
  name: string;
  price: number;
  available: number;
  reserved: number;
}

export interface ConsoleConfig {
  apps: string[];
  paymentTokens: Array<{ token: string; outcome: string }>;
  jaegerUiUrl: string | null;
  authentication: boolean;
}

export interface RedriveSummary {
  queue: string;
  redriven: string[];
  notFound: string[];
  skipped: Array<{ messageId: string; reason: string }>;
}

/** A call to the console's own API; a console that does not answer is an Outcome without status too. */
export async function api<T>(path: string, init?: RequestInit): Promise<Outcome<T>> {
  try {
    const response = await fetch(path, {
      ...init,
      headers: {
        accept: 'application/json',
        ...(init?.body ? { 'content-type': 'application/json' } : {}),
        ...init?.headers,
      },
    });
    const body = (await response.json().catch(() => undefined)) as unknown;
    if (!response.ok) {
      return { app: 'console', ok: false, status: response.status, body: body as T, error: messageOf(body) };
    }
    return body as Outcome<T>;
  } catch (error) {
    return {
      app: 'console',
      ok: false,
      status: null,
      error: `the console does not answer (${(error as Error).message})`,
    };
  }
}

/** The message of an error body in Nest's shape, as one line. */
export function messageOf(body: unknown): string | undefined {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : undefined;
}

/** Why an Outcome is not a success, for a person. */
export function problemOf(outcome: Outcome<unknown>): string {
  if (outcome.error) return outcome.error;
  const message = messageOf(outcome.body);
  return `${outcome.app} answered ${outcome.status}${message ? `: ${message}` : ''}`;
}

export type StreamState = 'connecting' | 'open' | 'reconnecting';

/**
 * An EventSource on `url` (none when null) while the component lives: `handlers` gets each named
 * event's parsed data. The browser reconnects by itself (sending Last-Event-ID); the state says so.
 */
export function useEventStream(url: string | null, handlers: Record<string, (data: never) => void>): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const current = useRef(handlers);
  current.current = handlers;
  const names = Object.keys(handlers).sort().join(',');
  useEffect(() => {
    if (!url) return undefined;
    setState('connecting');
    const source = new EventSource(url);
    source.onopen = () => setState('open');
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'reconnecting' : 'reconnecting');
    for (const name of names.split(',')) {
      source.addEventListener(name, (event) => {
        const handler = current.current[name];
        if (!handler) return;
        try {
          handler(JSON.parse((event as MessageEvent<string>).data) as never);
        } catch {
          // not JSON: ignored
        }
      });
    }
    return () => source.close();
  }, [url, names]);
  return state;
}

export function dollars(cents: number | null | undefined): string {
  return typeof cents === 'number' ? `$${(cents / 100).toFixed(2)}` : '—';
}

export function clock(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
