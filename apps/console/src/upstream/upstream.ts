import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  CONSOLE_SETTINGS,
  UPSTREAM_APPS,
  upstreamUrls,
  type ConsoleSettings,
  type UpstreamApp,
} from '../config/console.settings';
import type { Outcome as OutcomeOf } from '../contract';

/** What a call to an app answers: its answer, or why it had none (the page reads it as it is). */
export type Outcome<T = unknown> = OutcomeOf<T, UpstreamApp>;

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** The answer as text (Prometheus), not JSON. */
  text?: boolean;
  signal?: AbortSignal;
}

/** The console's only way to the apps: their public HTTP APIs, with the console's token when set. */
@Injectable()
export class Upstream {
  private readonly logger = new Logger('Upstream');
  private readonly urls: Record<UpstreamApp, string>;

  constructor(@Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings) {
    this.urls = upstreamUrls(settings);
  }

  static isApp(name: string): name is UpstreamApp {
    return UPSTREAM_APPS.some((app) => app.name === name);
  }

  url(app: UpstreamApp, path: string): string {
    return `${this.urls[app]}${path}`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const token = this.settings.CONSOLE_API_TOKEN;
    return { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
  }

  async call<T>(app: UpstreamApp, path: string, options: CallOptions = {}): Promise<Outcome<T>> {
    const timeoutMs = options.timeoutMs ?? this.settings.CONSOLE_UPSTREAM_TIMEOUT_MS;
    const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
    const headers = this.headers(options.headers);
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await fetch(this.url(app, path), {
        method: options.method ?? 'GET',
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.any(signals),
        redirect: 'manual',
      });
      const text = await response.text();
      let body: unknown = text;
      if (!options.text) {
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
      }
      return { app, ok: response.ok, status: response.status, body: body as T };
    } catch (error) {
      const reason = describeFailure(error, timeoutMs);
      this.logger.debug(`${options.method ?? 'GET'} ${app}${path}: ${reason}`);
      return { app, ok: false, status: null, error: `${app} does not answer (${reason})`, reason };
    }
  }
}

/** A fetch failure in words: refused, timed out, name not found... */
export function describeFailure(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (err?.name === 'AbortError') return 'aborted';
  const code = err?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  return err?.cause?.message ?? err?.message ?? String(error);
}

/** An error body of an app (Nest's shape) as one line. */
export function errorText(outcome: Outcome): string {
  if (outcome.error) return outcome.error;
  const body = outcome.body as { message?: unknown; error?: unknown } | undefined;
  const message = Array.isArray(body?.message) ? body.message.join('; ') : body?.message;
  return `${outcome.app} answered ${outcome.status}${message ? `: ${String(message)}` : ''}`;
}
