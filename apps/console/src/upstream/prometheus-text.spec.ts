import { parsePrometheus, valueOf } from './prometheus-text';

describe('parsePrometheus', () => {
  const text = [
    '# HELP messaging_outbox_backlog Events committed to the outbox',
    '# TYPE messaging_outbox_backlog gauge',
    'messaging_outbox_backlog 3',
    'messaging_outbox_oldest_age_seconds 1.5',
    'messaging_connection_up 1',
    'orders_by_status{status="PENDING"} 2',
    'orders_by_status{status="CONFIRMED"} 10',
    'orders_by_status{status="CANCELLED"} 1',
    'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/a \\"b\\""} 4',
    'messaging_outbox_backlog_other NaN',
  ].join('\n');

  it('reads the samples asked for, with their labels, and nothing else', () => {
    const samples = parsePrometheus(text, ['messaging_outbox_backlog', 'orders_by_status']);
    expect(samples).toEqual([
      { name: 'messaging_outbox_backlog', labels: {}, value: 3 },
      { name: 'orders_by_status', labels: { status: 'PENDING' }, value: 2 },
      { name: 'orders_by_status', labels: { status: 'CONFIRMED' }, value: 10 },
      { name: 'orders_by_status', labels: { status: 'CANCELLED' }, value: 1 },
    ]);
    expect(valueOf(samples, 'orders_by_status', { status: 'CONFIRMED' })).toBe(10);
    expect(valueOf(samples, 'messaging_connection_up')).toBeUndefined();
  });

  it('unescapes label values and treats NaN as no value', () => {
    const samples = parsePrometheus(text, ['http_request_duration_seconds_bucket', 'messaging_outbox_backlog_other']);
    expect(samples[0].labels['route']).toBe('/a "b"');
    expect(valueOf(samples, 'messaging_outbox_backlog_other')).toBeUndefined();
  });
});
