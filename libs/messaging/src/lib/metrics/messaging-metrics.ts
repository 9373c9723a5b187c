import { Counter, Gauge, Histogram, Registry, type CounterConfiguration } from 'prom-client';

/** The outcome of one delivery, as counted and timed. */
export type DeliveryOutcome = 'ack' | 'duplicate' | 'retry' | 'dead-letter';

/**
 * The library's Prometheus metrics, in a registry of their own (the app's /metrics serves it with its
 * own metrics). Labels are bounded: exchanges, queues and event types come from the code and the
 * contracts, never from message contents (an unknown type is counted as `unknown`).
 */
export class MessagingMetrics {
  readonly registry = new Registry();

  readonly published = tallied({
    name: 'messaging_published_total',
    help: 'Events written to the broker (outbox relay), by exchange and event type',
    labelNames: ['exchange', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly confirmed = tallied({
    name: 'messaging_publish_confirmed_total',
    help: 'Events the broker confirmed (publisher confirms), by exchange and event type',
    labelNames: ['exchange', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly compressed = new Counter({
    name: 'messaging_published_compressed_total',
    help: 'Events the relay published with a compressed body (gzip or br), by exchange and event type',
    labelNames: ['exchange', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly compressionSavedBytes = new Counter({
    name: 'messaging_compression_saved_bytes_total',
    help: 'Bytes compression took off published bodies (plain size minus compressed size), by exchange and event type',
    labelNames: ['exchange', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly publishFailed = new Counter({
    name: 'messaging_publish_failed_total',
    help: 'Publishes not confirmed (nacked, unroutable, connection lost): kept in the outbox and retried',
    labelNames: ['exchange', 'event_type', 'reason'] as const,
    registers: [this.registry],
  });
  readonly consumed = tallied({
    name: 'messaging_consumed_total',
    help: 'Deliveries handled and acknowledged, by queue and event type',
    labelNames: ['queue', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly retried = new Counter({
    name: 'messaging_retried_total',
    help: 'Deliveries whose handler failed and that were sent to a delay queue for another attempt',
    labelNames: ['queue', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({
    name: 'messaging_dead_lettered_total',
    help: 'Deliveries sent to the dead-letter queue, by queue, event type and reason',
    labelNames: ['queue', 'event_type', 'reason'] as const,
    registers: [this.registry],
  });
  readonly duplicates = tallied({
    name: 'messaging_inbox_duplicates_total',
    help: 'Redeliveries of messages already applied, skipped by the inbox',
    labelNames: ['queue', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly handlerDuration = new Histogram({
    name: 'messaging_handler_duration_seconds',
    help: 'From delivery to settlement (parse, validate, handle, ack or retry or dead-letter)',
    labelNames: ['queue', 'event_type', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly groupSize = new Histogram({
    name: 'messaging_group_commit_size',
    help: 'Handlers that shared one transaction (group commit), by outcome: committed, or split (rolled back, each run alone)',
    labelNames: ['outcome'] as const,
    buckets: [2, 3, 4, 6, 8, 12, 16, 32],
    registers: [this.registry],
  });
  readonly redriven = new Counter({
    name: 'messaging_redriven_total',
    help: 'Dead letters sent back to their queue by a redrive (admin endpoint or CLI), by queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  readonly reconnects = new Counter({
    name: 'messaging_reconnects_total',
    help: 'Times the broker connection was lost and re-established',
    registers: [this.registry],
  });

  /**
   * Each series' counters and histogram, made once: per message, a lookup by its labels (no key
   * string built) and plain increments, no label hashing.
   */
  private readonly publishSeries = new Map<string, Map<string, PublishSeries>>();
  private readonly deliverySeries = new Map<string, Map<string, Map<string, DeliverySeries>>>();

  /** The published, confirmed and compression counters of one exchange and event type. */
  publishCounters(exchange: string, eventType: string): PublishSeries {
    const byType = lookup(this.publishSeries, exchange, () => new Map<string, PublishSeries>());
    return lookup(byType, eventType, () => ({
      published: this.published.tally(exchange, eventType),
      confirmed: this.confirmed.tally(exchange, eventType),
      compressed: this.compressed.labels(exchange, eventType),
      compressionSavedBytes: this.compressionSavedBytes.labels(exchange, eventType),
    }));
  }

  /** A transaction shared by `size` handlers committed, or split up. */
  groupCommitted(size: number, outcome: 'committed' | 'split'): void {
    this.groupSize.labels(outcome).observe(size);
  }

  /** Counts and times a settled delivery. */
  record(delivery: SettledDelivery): void {
    const { queue, eventType, outcome } = delivery;
    const byType = lookup(this.deliverySeries, queue, () => new Map<string, Map<string, DeliverySeries>>());
    const byOutcome = lookup(byType, eventType, () => new Map<string, DeliverySeries>());
    const key = outcome === 'dead-letter' ? `${outcome}\0${delivery.reason ?? 'unknown'}` : outcome;
    const series = lookup(byOutcome, key, () => ({
      counter:
        outcome === 'ack'
          ? this.consumed.tally(queue, eventType)
          : outcome === 'duplicate'
            ? this.duplicates.tally(queue, eventType)
            : outcome === 'retry'
              ? this.retried.labels(queue, eventType)
              : this.deadLettered.labels(queue, eventType, delivery.reason ?? 'unknown'),
      duration: this.handlerDuration.labels(queue, eventType, outcome),
    }));
    series.counter.inc();
    series.duration.observe(delivery.durationMs / 1000);
  }

  constructor(probes: {
    /** Rows in the outbox and the age of the oldest in seconds (0 when empty). */
    outbox: () => Promise<{ backlog: number; oldestAgeSeconds: number }>;
    connected: () => boolean;
  }) {
    const registry = this.registry;
    let last: Promise<{ backlog: number; oldestAgeSeconds: number }> | undefined;
    // One query per scrape for both outbox gauges.
    const outbox = () => (last ??= probes.outbox().finally(() => setImmediate(() => (last = undefined))));
    new Gauge({
      name: 'messaging_outbox_backlog',
      help: 'Events committed to the outbox and not yet confirmed by the broker',
      registers: [registry],
      async collect() {
        this.set((await outbox().catch(() => ({ backlog: NaN }))).backlog);
      },
    });
    new Gauge({
      name: 'messaging_outbox_oldest_age_seconds',
      help: 'Age of the oldest event waiting in the outbox (0 when it is empty)',
      registers: [registry],
      async collect() {
        this.set((await outbox().catch(() => ({ oldestAgeSeconds: NaN }))).oldestAgeSeconds);
      },
    });
    new Gauge({
      name: 'messaging_connection_up',
      help: '1 while connected to the broker with topology declared and consumers running, else 0',
      registers: [registry],
      collect() {
        this.set(probes.connected() ? 1 : 0);
      },
    });
  }
}

/** What one delivery came to: counted and timed once, when it is settled. */
export interface SettledDelivery {
  queue: string;
  /** `unknown` when the message was not a valid event of the contracts. */
  eventType: string;
  outcome: DeliveryOutcome;
  /** The dead-letter reason, or the error of a retried attempt. */
  reason?: string;
  durationMs: number;
}

interface Incrementable {
  inc(value?: number): void;
}

/** The counters of one exchange and event type, as the relay counts its publishes. */
export interface PublishSeries {
  published: Incrementable;
  confirmed: Incrementable;
  compressed: Incrementable;
  compressionSavedBytes: Incrementable;
}

interface DeliverySeries {
  counter: Incrementable;
  duration: { observe(seconds: number): void };
}

function lookup<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let found = map.get(key);
  if (found === undefined) {
    found = make();
    map.set(key, found);
  }
  return found;
}

/**
 * A counter incremented once or twice per message: its series count in plain numbers, added to the
 * prom-client counter whenever the registry is read (its `collect`), so that a message costs an
 * addition rather than prom-client's label hashing. What a scrape or `get()` reads is exact.
 */
function tallied<L extends string>(config: CounterConfiguration<L>) {
  const tallies: Array<{ labels: Partial<Record<L, string>>; count: { n: number } }> = [];
  const counter = new Counter<L>({
    ...config,
    collect() {
      for (const { labels, count } of tallies) {
        if (count.n === 0) continue;
        this.inc(labels, count.n);
        count.n = 0;
      }
    },
  });
  return Object.assign(counter, {
    /** The series of these label values (in `labelNames` order), counted as a plain number. */
    tally(...values: string[]): Incrementable {
      const labelNames = (config.labelNames ?? []) as readonly L[];
      const labels = Object.fromEntries(labelNames.map((name, i) => [name, values[i]])) as Partial<Record<L, string>>;
      const count = { n: 0 };
      tallies.push({ labels, count });
      return {
        inc(value = 1) {
          count.n += value;
        },
      };
    },
  });
}
