import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CONSOLE_SETTINGS, UPSTREAM_APPS, type ConsoleSettings, type UpstreamApp } from '../config/console.settings';
import type { SseStream } from '../http/sse';
import { parsePrometheus, valueOf } from '../upstream/prometheus-text';
import type {
  AppStatus as AppStatusOf,
  DeadLetterView,
  StatusPoint,
  SystemSnapshot as SystemSnapshotOf,
} from '../contract';
import { errorText, Upstream, type Outcome } from '../upstream/upstream';

export type { DeadLetterView, StatusPoint };
export type AppStatus = AppStatusOf<UpstreamApp>;
export type SystemSnapshot = SystemSnapshotOf<UpstreamApp>;

interface ReadyBody {
  status?: string;
  info?: Record<string, { status?: string; node?: string; error?: string }>;
  error?: Record<string, { status?: string; error?: string; message?: string }>;
  details?: Record<string, { status?: string; node?: string; error?: string }>;
}

const HISTORY_STEP_MS = 5_000;
const METRICS = [
  'messaging_outbox_backlog',
  'messaging_outbox_oldest_age_seconds',
  'messaging_connection_up',
  'orders_by_status',
] as const;

/**
 * Reads every app's public probes every CONSOLE_STATUS_INTERVAL_MS: GET /health/ready (ready, and
 * what is down), GET /metrics (outbox backlog and oldest age, broker connection, orders by status)
 * and GET /admin/dead-letters; keeps the last minutes of orders by status; and pushes each snapshot
 * to the pages that watch. A redrive and a listing of the same app never overlap (a listing holds the
 * dead letters it reads until it hands them back, which would hide them from the redrive).
 */
@Injectable()
export class SystemMonitor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SystemMonitor');
  private readonly streams = new Set<SseStream>();
  private readonly locks = new Map<UpstreamApp, Promise<unknown>>();
  private readonly history: StatusPoint[] = [];
  private statuses = new Map<UpstreamApp, AppStatus>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private cycle?: Promise<void>;

  constructor(
    private readonly upstream: Upstream,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  onModuleInit(): void {
    const tick = async () => {
      if (this.stopped) return;
      this.cycle = this.refresh().catch((error) => this.logger.error(`status: ${(error as Error).message}`));
      await this.cycle;
      // Nobody watching: only the chart's history is kept, one reading per step, and no dead letter is listed.
      const interval = this.streams.size
        ? this.settings.CONSOLE_STATUS_INTERVAL_MS
        : Math.max(this.settings.CONSOLE_STATUS_INTERVAL_MS, HISTORY_STEP_MS);
      if (!this.stopped) this.timer = setTimeout(() => void tick(), interval);
    };
    void tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.cycle;
  }

  snapshot(): SystemSnapshot {
    return {
      at: new Date().toISOString(),
      apps: UPSTREAM_APPS.map((app) => this.statuses.get(app.name)).filter((s): s is AppStatus => !!s),
      history: [...this.history],
    };
  }

  watch(stream: SseStream): void {
    const first = this.streams.size === 0;
    this.streams.add(stream);
    stream.onClose(() => this.streams.delete(stream));
    if (this.statuses.size) stream.send('system', this.snapshot());
    // the first page after a quiet spell gets a fresh reading (dead letters included) at once
    if (first) void this.refresh().catch((error) => this.logger.error(`status: ${(error as Error).message}`));
  }

  /** Sends dead letters back to their queue (POST /admin/dead-letters/redrive of their app), then reads the app again. */
  async redrive(app: UpstreamApp, queue: string, messageIds: string[]): Promise<Outcome> {
    const outcome = await this.exclusive(app, async () => {
      const first = await this.upstream.call<RedriveSummary>(app, '/admin/dead-letters/redrive', {
        method: 'POST',
        body: { queue, messageIds },
        timeoutMs: Math.max(15_000, this.settings.CONSOLE_UPSTREAM_TIMEOUT_MS),
      });
      // Another reader (a second console, the CLI) may have held some for a moment: once more for those.
      const missing = first.ok ? (first.body?.notFound ?? []) : [];
      if (!missing.length) return first;
      await new Promise((resolve) => setTimeout(resolve, 500));
      const again = await this.upstream.call<RedriveSummary>(app, '/admin/dead-letters/redrive', {
        method: 'POST',
        body: { queue, messageIds: missing },
        timeoutMs: Math.max(15_000, this.settings.CONSOLE_UPSTREAM_TIMEOUT_MS),
      });
      if (!again.ok || !again.body || !first.body) return first;
      return {
        ...first,
        body: {
          queue,
          redriven: [...first.body.redriven, ...again.body.redriven],
          notFound: again.body.notFound,
          skipped: [...first.body.skipped, ...again.body.skipped],
        },
      };
    });
    await this.refreshApp(app).then(() => this.publish());
    return outcome;
  }

  private exclusive<T>(app: UpstreamApp, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(app) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(
      app,
      next.catch(() => undefined),
    );
    return next;
  }

  private async refresh(): Promise<void> {
    await Promise.all(UPSTREAM_APPS.map((app) => this.refreshApp(app.name)));
    this.publish();
  }

  private publish(): void {
    if (!this.streams.size) return;
    const snapshot = this.snapshot();
    for (const stream of this.streams) stream.send('system', snapshot);
  }

  private async refreshApp(app: UpstreamApp): Promise<void> {
    const [ready, metrics, deadLetters] = await Promise.all([
      this.upstream.call<ReadyBody>(app, '/health/ready'),
      this.upstream.call<string>(app, '/metrics', { text: true }),
      this.streams.size
        ? this.exclusive(app, () => this.upstream.call<DeadLetterView[]>(app, '/admin/dead-letters?limit=100'))
        : undefined,
    ]);
    const samples = metrics.ok && typeof metrics.body === 'string' ? parsePrometheus(metrics.body, METRICS) : [];
    const details = ready.body && typeof ready.body === 'object' ? (ready.body.details ?? {}) : {};
    const connectedMetric = valueOf(samples, 'messaging_connection_up');
    const status: AppStatus = {
      name: app,
      state: ready.status === null ? 'down' : ready.ok ? 'up' : 'degraded',
      readiness: describeReadiness(ready),
      broker: {
        connected:
          connectedMetric !== undefined
            ? connectedMetric === 1
            : details['broker']?.status
              ? details['broker'].status === 'up'
              : null,
        node: details['broker']?.node ?? null,
      },
      outbox: {
        backlog: valueOf(samples, 'messaging_outbox_backlog') ?? null,
        oldestAgeSeconds: valueOf(samples, 'messaging_outbox_oldest_age_seconds') ?? null,
      },
      deadLetters: !deadLetters
        ? (this.statuses.get(app)?.deadLetters ?? { error: null, items: [] })
        : deadLetters.ok && Array.isArray(deadLetters.body)
          ? { error: null, items: deadLetters.body }
          : { error: describeDeadLetterFailure(deadLetters), items: this.statuses.get(app)?.deadLetters.items ?? [] },
      checkedAt: new Date().toISOString(),
    };
    this.statuses.set(app, status);
    if (app === 'orders') this.record(samples);
  }

  private record(samples: ReturnType<typeof parsePrometheus>): void {
    const pending = valueOf(samples, 'orders_by_status', { status: 'PENDING' });
    if (pending === undefined) return;
    const now = Date.now();
    const last = this.history.at(-1);
    const point: StatusPoint = {
      at: new Date(now).toISOString(),
      PENDING: pending,
      CONFIRMED: valueOf(samples, 'orders_by_status', { status: 'CONFIRMED' }) ?? 0,
      CANCELLED: valueOf(samples, 'orders_by_status', { status: 'CANCELLED' }) ?? 0,
    };
    // one point per step; the latest reading replaces a point taken less than a step ago
    if (last && now - Date.parse(last.at) < HISTORY_STEP_MS && this.history.length > 1) {
      this.history[this.history.length - 1] = { ...point, at: last.at };
    } else {
      this.history.push(point);
    }
    const keepFrom = now - this.settings.CONSOLE_HISTORY_MINUTES * 60_000;
    while (this.history.length && Date.parse(this.history[0].at) < keepFrom) this.history.shift();
  }
}

interface RedriveSummary {
  queue: string;
  redriven: string[];
  notFound: string[];
  skipped: Array<{ messageId: string; reason: string }>;
}

function describeReadiness(outcome: Outcome<ReadyBody>): string {
  if (outcome.status === null) return `does not answer${outcome.reason ? ` (${outcome.reason})` : ''}`;
  if (outcome.ok) return 'ready';
  const failing = outcome.body && typeof outcome.body === 'object' ? (outcome.body.error ?? {}) : {};
  const parts = Object.entries(failing).map(
    ([name, check]) => `${name} down${check?.error || check?.message ? `: ${check.error ?? check.message}` : ''}`,
  );
  return `not ready (${outcome.status})${parts.length ? `: ${parts.join('; ')}` : ''}`;
}

function describeDeadLetterFailure(outcome: Outcome): string {
  if (outcome.status === 401 || outcome.status === 403) {
    return `${outcome.app} refuses to list its dead letters (${outcome.status}): give the console a token with the scope admin (CONSOLE_API_TOKEN)`;
  }
  return errorText(outcome);
}
