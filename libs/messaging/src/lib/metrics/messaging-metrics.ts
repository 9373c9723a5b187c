import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The outcome of one delivery, as counted and timed. */
export type DeliveryOutcome = 'ack' | 'duplicate' | 'retry' | 'dead-letter';

/**
 * The library's Prometheus metrics, in a registry of their own (the app's /metrics serves it with its
 * own metrics). Labels are bounded: exchanges, queues and event types come from the code and the
 * contracts, never from message contents (an unknown type is counted as `unknown`).
 */
export class MessagingMetrics {
  readonly registry = new Registry();

  readonly published = new Counter({
    name: 'messaging_published_total',
    help: 'Events written to the broker (outbox relay), by exchange and event type',
    labelNames: ['exchange', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly confirmed = new Counter({
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
  readonly consumed = new Counter({
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
  readonly duplicates = new Counter({
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

  /** Labelled children, made once per series: no label hashing per message. */
  private readonly children = new Map<string, unknown>();

  private child<T>(key: string, make: () => T): T {
    let found = this.children.get(key) as T | undefined;
    if (!found) {
      found = make();
      this.children.set(key, found);
    }
    return found;
  }

  /** The published, confirmed and compression counters of one exchange and event type. */
  publishCounters(exchange: string, eventType: string) {
    return this.child(`p\0${exchange}\0${eventType}`, () => ({
      published: this.published.labels(exchange, eventType),
      confirmed: this.confirmed.labels(exchange, eventType),
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
    const series = this.child(`d\0${queue}\0${eventType}\0${outcome}\0${delivery.reason ?? ''}`, () => ({
      counter:
        outcome === 'ack'
          ? this.consumed.labels(queue, eventType)
          : outcome === 'duplicate'
            ? this.duplicates.labels(queue, eventType)
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
