import { Controller, Get, Header, Injectable, Optional, type NestMiddleware } from '@nestjs/common';
import { MessagingMetrics } from '@shop/messaging';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { Unguarded } from '../http/auth';

/**
 * One Prometheus registry per app process: Node's default metrics, the HTTP ones below, the
 * messaging library's, and whatever the app adds (`registry`).
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  /** Rate, errors (`status_code` 5xx) and duration of the HTTP API, all from this one histogram. */
  readonly httpRequests: Histogram<'method' | 'route' | 'status_code'>;

  /**
   * A gauge read at each scrape (from the database, say): `read` returns its series. A series that
   * is gone is dropped; a failed read leaves the gauge empty for that scrape rather than failing it.
   */
  addGauge<L extends string>(options: {
    name: string;
    help: string;
    labelNames: readonly L[];
    read: () => Promise<Array<{ labels: Record<L, string>; value: number }>>;
  }): void {
    const { read } = options;
    new Gauge<L>({
      name: options.name,
      help: options.help,
      labelNames: options.labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { labels, value } of await read().catch(() => [])) this.set(labels as never, value);
      },
    });
  }

  /** What /metrics serves: this registry's metrics, then the messaging library's (names never overlap). */
  async exposition(): Promise<string> {
    const own = await this.registry.metrics();
    return this.messaging ? `${own}\n${await this.messaging.registry.metrics()}` : own;
  }

  constructor(@Optional() private readonly messaging?: MessagingMetrics) {
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
  }
}

/**
 * Times every request; labels by route template (`/orders/:id`), never by raw path (unbounded). On
 * `close`, which follows `finish` and also ends a request the client gave up on or a stream (SSE).
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: Metrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.httpRequests.startTimer();
    res.on('close', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      end({
        method: req.method,
        route: route ? `${req.baseUrl}${route}` : 'unmatched',
        status_code: String(res.statusCode),
      });
    });
    next();
  }
}

@ApiExcludeController()
@Unguarded()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.exposition();
  }
}
