import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { EVENTS, eventJson, PRODUCER_NAMES, topicMatches, type CloudEvent } from '@shop/contracts';
import { EventContext, MessagingService, RetryableError, Topology } from '@shop/messaging';
import { TraceContext } from '@shop/tracing';
import { DataSource } from 'typeorm';
import { BRIDGE_SETTINGS, type BridgeSettings } from '../config/bridge.settings';
import { PushClient, PushFailure, RateLimiter, UrlAllowList } from './delivery';
import type { SubscriptionInput } from './dto/subscription-input.dto';
import { SubscriptionMetrics } from './subscription.metrics';

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

interface SubscriptionRow {
  id: string;
  name: string;
  types: string[];
  url: string;
  secret: string;
  concurrency: number;
  rate_per_second: number;
  created_at: Date;
}

/** What this replica runs for a subscription it delivers. */
interface Delivering {
  row: SubscriptionRow;
  client: PushClient;
  limiter: RateLimiter;
}

/** The durable quorum queue of a subscription. */
export const subscriptionQueue = (id: string): string => `${Topology.exchange('bridge')}.subscription.${id}`;

/**
 * Push subscriptions: each its own durable quorum queue, bound to its types on their producers'
 * exchanges and consumed by every replica of the bridge (competing consumers), its own connection
 * pool, concurrency and rate limit, so a slow or dead subscriber holds back only itself. Each
 * replica compares what it delivers with the database every BRIDGE_SUBSCRIPTIONS_SYNC_MS; the one
 * that takes a request acts at once. A deleted subscription's queue is deleted once every replica
 * has had the time to stop delivering it.
 */
@Injectable()
export class SubscriptionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Subscriptions');
  private readonly allowList: UrlAllowList;
  private readonly delivering = new Map<string, Delivering>();
  private syncTimer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  /**
   * create, remove and sync one at a time: a sync that read the rows before a create committed
   * must not stop the new subscription under it (nor one that read them before a remove restart it).
   */
  private exclusive: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(BRIDGE_SETTINGS) private readonly settings: BridgeSettings,
    private readonly dataSource: DataSource,
    private readonly messaging: MessagingService,
    private readonly metrics: SubscriptionMetrics,
  ) {
    this.allowList = settings.BRIDGE_SUBSCRIBER_ALLOWLIST;
  }

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.stopped) return;
      this.syncing = this.serially(() => this.sync())
        .catch((error: Error) => this.logger.warn(`could not sync the subscriptions: ${error.message}`))
        .finally(() => {
          this.syncing = undefined;
          if (!this.stopped) this.syncTimer = setTimeout(tick, this.settings.BRIDGE_SUBSCRIPTIONS_SYNC_MS);
        });
    };
    this.syncTimer = setTimeout(tick, 0);
  }

  /** After the messaging library drained its consumers (beforeApplicationShutdown): the pools go. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    await this.syncing;
    for (const delivering of this.delivering.values()) await this.release(delivering);
    this.delivering.clear();
  }

  /** 201 with the secret; its queue is bound before this answers, so every later event reaches it. */
  async create(input: SubscriptionInput): Promise<Subscription & { secret: string }> {
    const problems = input.types.flatMap((pattern, i) =>
      EVENTS.all.some((event) => topicMatches(pattern, event.type))
        ? []
        : [`types.${i}: "${pattern}" matches no event type (${EVENTS.all.map((e) => e.type).join(', ')})`],
    );
    const target = this.allowList.check(input.url);
    if (!target.ok) problems.push(`url: ${target.reason}`);
    if (problems.length > 0) throw new BadRequestException(problems);

    const row: SubscriptionRow = {
      id: randomUUID(),
      name: input.name,
      types: input.types,
      url: input.url,
      secret: randomBytes(32).toString('base64url'),
      concurrency: input.concurrency ?? this.settings.BRIDGE_DELIVERY_CONCURRENCY,
      rate_per_second: input.ratePerSecond ?? this.settings.BRIDGE_DELIVERY_RATE,
      created_at: new Date(),
    };
    await this.serially(() => this.createNow(row));
    this.logger.log(`subscription ${row.name} (${row.id}) created: ${row.types.join(', ')} -> ${redact(row.url)}`);
    return { ...view(row), secret: row.secret };
  }

  private async createNow(row: SubscriptionRow): Promise<void> {
    await this.dataSource
      .transaction(async (tx) => {
        const [taken] = (await tx.query(
          `INSERT INTO bridge_subscriptions (id, name, types, url, secret, concurrency, rate_per_second, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (name) WHERE deleted_at IS NULL DO NOTHING RETURNING id`,
          [row.id, row.name, row.types, row.url, row.secret, row.concurrency, row.rate_per_second, row.created_at],
        )) as unknown[];
        if (!taken) throw new ConflictException([`name: a subscription named "${row.name}" exists`]);
        // Declared and consumed before the row commits: a broker out of reach fails the request (503)
        // and leaves nothing behind.
        await this.start(row);
      })
      .catch(async (error: unknown) => {
        // The row did not commit: neither may its queue stay (start may have declared it).
        if (this.delivering.has(row.id)) {
          await this.stop(row.id);
          await this.messaging.unsubscribe(subscriptionQueue(row.id), { deleteQueue: true }).catch(() => undefined);
        }
        throw error;
      });
  }

  async list(): Promise<Subscription[]> {
    const rows = (await this.dataSource.query(
      `SELECT * FROM bridge_subscriptions WHERE deleted_at IS NULL ORDER BY created_at, id`,
    )) as SubscriptionRow[];
    return rows.map(view);
  }

  async get(id: string): Promise<Subscription> {
    const [row] = (await this.dataSource.query(
      `SELECT * FROM bridge_subscriptions WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    )) as SubscriptionRow[];
    if (!row) throw new NotFoundException([`subscription ${id} not found`]);
    return view(row);
  }

  /** Stops its deliveries here at once, on the other replicas at their next sync; its queue goes later. */
  remove(id: string): Promise<void> {
    return this.serially(() => this.removeNow(id));
  }

  private async removeNow(id: string): Promise<void> {
    // TypeORM answers an UPDATE with [rows, affected count].
    const [deleted] = (await this.dataSource.query(
      `UPDATE bridge_subscriptions SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
      [id],
    )) as [unknown[], number];
    if (deleted.length === 0) throw new NotFoundException([`subscription ${id} not found`]);
    await this.stop(id);
    this.logger.log(`subscription ${id} deleted`);
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(work, work);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  /** What this replica delivers, brought in line with the database; then the queues of old deletions go. */
  private async sync(): Promise<void> {
    if (!this.messaging.status().connected) return;
    const rows = (await this.dataSource.query(
      `SELECT * FROM bridge_subscriptions WHERE deleted_at IS NULL`,
    )) as SubscriptionRow[];
    const live = new Set(rows.map((row) => row.id));
    for (const id of [...this.delivering.keys()]) if (!live.has(id)) await this.stop(id);
    for (const row of rows) {
      if (this.delivering.has(row.id) || this.stopped) continue;
      await this.start(row).catch((error: Error) =>
        this.logger.warn(`could not start delivering ${row.name}: ${error.message}`),
      );
    }
    await this.purge();
  }

  /**
   * Deletes the queues of subscriptions deleted more than three syncs ago (every replica stopped
   * consuming them by then), one replica at a time (row locks), then their rows.
   */
  private async purge(): Promise<void> {
    const graceMs = Math.max(3 * this.settings.BRIDGE_SUBSCRIPTIONS_SYNC_MS, 10_000);
    await this.dataSource.transaction(async (tx) => {
      const rows = (await tx.query(
        `SELECT id FROM bridge_subscriptions
          WHERE deleted_at < now() - $1 * interval '1 millisecond'
          ORDER BY deleted_at LIMIT 20 FOR UPDATE SKIP LOCKED`,
        [graceMs],
      )) as Array<{ id: string }>;
      for (const { id } of rows) {
        await this.messaging.unsubscribe(subscriptionQueue(id), { deleteQueue: true });
        await tx.query(`DELETE FROM bridge_subscriptions WHERE id = $1`, [id]);
        this.logger.log(`subscription ${id}: its queue is deleted`);
      }
    });
  }

  private async start(row: SubscriptionRow): Promise<void> {
    const delivering: Delivering = {
      row,
      client: new PushClient({
        allowList: this.allowList,
        timeoutMs: this.settings.BRIDGE_DELIVERY_TIMEOUT_MS,
        connections: row.concurrency,
      }),
      limiter: new RateLimiter({ ratePerSecond: row.rate_per_second, burst: row.concurrency }),
    };
    this.delivering.set(row.id, delivering);
    try {
      await this.messaging.subscribe({
        declaration: {
          subscriptions: bindingsOf(row.types),
          options: {
            queue: subscriptionQueue(row.id),
            prefetch: row.concurrency,
            concurrency: row.concurrency,
            retry: {
              maxAttempts: this.settings.BRIDGE_DELIVERY_MAX_ATTEMPTS,
              initialDelayMs: this.settings.BRIDGE_RETRY_INITIAL_DELAY_MS,
              factor: 2,
              maxDelayMs: this.settings.BRIDGE_RETRY_MAX_DELAY_MS,
            },
          },
          handlerName: `subscription ${row.name}`,
        },
        handle: (event, ctx) => this.deliver(delivering, event, ctx),
      });
    } catch (error) {
      this.delivering.delete(row.id);
      await this.release(delivering);
      throw error;
    }
  }

  private async stop(id: string): Promise<void> {
    const delivering = this.delivering.get(id);
    if (!delivering) return;
    this.delivering.delete(id);
    // Waiting for a rate-limit token ends now; deliveries under way finish, then the pool closes.
    delivering.limiter.close();
    await this.messaging.unsubscribe(subscriptionQueue(id));
    await delivering.client.close();
  }

  private async release(delivering: Delivering): Promise<void> {
    delivering.limiter.close();
    await delivering.client.close().catch(() => undefined);
  }

  /**
   * One event to one subscriber: a 2xx acks it (the inbox remembers it, so a redelivery is not sent
   * again); anything else throws, and the messaging library retries it with backoff, then
   * dead-letters it (`retries-exhausted`) in `<queue>.dlq`.
   */
  private async deliver({ row, client, limiter }: Delivering, event: CloudEvent<unknown>, ctx: EventContext) {
    if (await ctx.handledBefore()) return;
    await limiter.take();
    const traceparent = TraceContext.current()?.traceparent;
    const started = performance.now();
    try {
      await client.deliver({
        url: row.url,
        secret: row.secret,
        body: eventJson(event),
        headers: { 'ce-id': event.id, 'ce-type': event.type, ...(traceparent && { traceparent }) },
      });
      this.metrics.delivered(row.name, 'delivered', performance.now() - started);
    } catch (error) {
      this.metrics.delivered(row.name, 'failed', performance.now() - started);
      // The subscriber's failure, retried with backoff (spending attempts), never taken for an outage
      // of the bridge's own dependencies (a refused connection is the subscriber's, not the database's).
      if (error instanceof PushFailure) throw new RetryableError(`${error.reason}: ${error.message}`, { cause: error });
      throw error;
    }
    await ctx.transaction(async () => undefined);
  }
}

/** The bindings of a subscription's types: each pattern on every exchange that has a type it matches. */
export function bindingsOf(types: string[]): Array<{ exchange: (typeof PRODUCER_NAMES)[number]; routingKey: string }> {
  return types.flatMap((pattern) =>
    PRODUCER_NAMES.filter((producer) =>
      EVENTS.ownedBy(producer).some((event) => topicMatches(pattern, event.type)),
    ).map((exchange) => ({ exchange, routingKey: pattern })),
  );
}

function view(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    name: row.name,
    types: row.types,
    url: row.url,
    concurrency: row.concurrency,
    ratePerSecond: row.rate_per_second,
    createdAt: new Date(row.created_at).toISOString(),
    queue: subscriptionQueue(row.id),
  };
}

/** A URL for the log: without credentials or query (which may hold a token). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
