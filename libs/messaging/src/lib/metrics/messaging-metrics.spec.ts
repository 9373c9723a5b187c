import { MessagingMetrics } from './messaging-metrics';

const metricsOf = () =>
  new MessagingMetrics({ outbox: async () => ({ backlog: 3, oldestAgeSeconds: 1.5 }), connected: () => true });

/** The value of one sample of the registry's text exposition, by its name and labels as written. */
async function sample(metrics: MessagingMetrics, series: string): Promise<number | undefined> {
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('MessagingMetrics', () => {
  it('counts deliveries per queue, event type and outcome, and times them, exactly at every read', async () => {
    const metrics = metricsOf();
    for (let i = 0; i < 5; i++)
      metrics.record({ queue: 'q', eventType: 'order.placed', outcome: 'ack', durationMs: 2 });
    metrics.record({ queue: 'q', eventType: 'order.placed', outcome: 'duplicate', durationMs: 1 });
    metrics.record({
      queue: 'q',
      eventType: 'order.placed',
      outcome: 'dead-letter',
      reason: 'rejected',
      durationMs: 1,
    });
    metrics.record({ queue: 'q', eventType: 'unknown', outcome: 'dead-letter', reason: 'unparseable', durationMs: 1 });
    expect(await sample(metrics, 'messaging_consumed_total{queue="q",event_type="order.placed"}')).toBe(5);
    expect(await sample(metrics, 'messaging_inbox_duplicates_total{queue="q",event_type="order.placed"}')).toBe(1);
    expect(
      await sample(metrics, 'messaging_dead_lettered_total{queue="q",event_type="order.placed",reason="rejected"}'),
    ).toBe(1);
    expect(
      await sample(metrics, 'messaging_dead_lettered_total{queue="q",event_type="unknown",reason="unparseable"}'),
    ).toBe(1);
    expect(
      await sample(
        metrics,
        'messaging_handler_duration_seconds_bucket{le="0.0025",queue="q",event_type="order.placed",outcome="ack"}',
      ),
    ).toBe(5);
    // counted between two reads: the second read has them all, none twice
    for (let i = 0; i < 3; i++)
      metrics.record({ queue: 'q', eventType: 'order.placed', outcome: 'ack', durationMs: 2 });
    expect(await sample(metrics, 'messaging_consumed_total{queue="q",event_type="order.placed"}')).toBe(8);
    expect((await metrics.consumed.get()).values).toEqual([
      { labels: { queue: 'q', event_type: 'order.placed' }, value: 8 },
    ]);
  });

  it('counts publishes per exchange and event type', async () => {
    const metrics = metricsOf();
    const series = metrics.publishCounters('orders', 'order.placed');
    expect(metrics.publishCounters('orders', 'order.placed')).toBe(series);
    for (let i = 0; i < 4; i++) series.published.inc();
    for (let i = 0; i < 3; i++) series.confirmed.inc();
    series.compressionSavedBytes.inc(100);
    expect(await sample(metrics, 'messaging_published_total{exchange="orders",event_type="order.placed"}')).toBe(4);
    expect(
      await sample(metrics, 'messaging_publish_confirmed_total{exchange="orders",event_type="order.placed"}'),
    ).toBe(3);
    expect(
      await sample(metrics, 'messaging_compression_saved_bytes_total{exchange="orders",event_type="order.placed"}'),
    ).toBe(100);
    expect(await sample(metrics, 'messaging_outbox_backlog')).toBe(3);
  });
});
