/**
 * The floor under the library's CPU targets: the per-message steps that "validation, the outbox row
 * and tracing on" require, each timed alone in this process (no broker, no I/O), with the same event
 * and code as the library client. Raw amqplib does none of them, so raw's CPU per message plus their
 * sum is the least the library can cost per message, before any promise, metric or Nest pipeline.
 */
import { decodeEvent, EVENTS, newTraceparent, OrderPlaced, parseEnvelope, serializeEvent } from '@shop/contracts';
import { TraceContext } from '@shop/tracing';
import { MessagingMetrics } from '../../src/lib/metrics/messaging-metrics';
import { outboxRow } from '../../src/lib/outbox/outbox';
import { ORDER_PLACED_DATA } from './event';

export interface StepTiming {
  side: 'publisher' | 'consumer';
  step: string;
  /** CPU (user + system) per call, µs: the median of the repetitions. */
  cpuUs: number;
}

const CALLS = 100_000;
const REPETITIONS = 5;

function time(run: () => unknown): number {
  for (let i = 0; i < CALLS / 5; i++) run(); // warm-up: optimized before it is timed
  const samples: number[] = [];
  for (let r = 0; r < REPETITIONS; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) run();
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / CALLS);
  }
  return samples.sort((a, b) => a - b)[Math.floor(REPETITIONS / 2)];
}

/** Times each step the targets require; a second or two in all. */
export function timeLibrarySteps(): StepTiming[] {
  const event = OrderPlaced.create(ORDER_PLACED_DATA, { traceparent: newTraceparent() });
  const body = serializeEvent(event);
  const envelope = parseEnvelope(body);
  const row = TraceContext.run({ traceparent: event.traceparent }, () => outboxRow(EVENTS, 'orders', event));
  const metrics = benchMetrics();
  const timings: StepTiming[] = [
    {
      side: 'publisher',
      step: 'create and validate the event (zod)',
      cpuUs: time(() => OrderPlaced.create(ORDER_PLACED_DATA)),
    },
    {
      side: 'publisher',
      step: 'the outbox row: trace stamped, JSON text',
      cpuUs: TraceContext.run({ traceparent: event.traceparent }, () => time(() => outboxRow(EVENTS, 'orders', event))),
    },
    { side: 'publisher', step: 'the text as UTF-8 bytes', cpuUs: time(() => Buffer.from(row.body, 'utf8')) },
    { side: 'consumer', step: 'JSON.parse and the envelope checked', cpuUs: time(() => parseEnvelope(body)) },
    { side: 'consumer', step: 'the data validated and upcast', cpuUs: time(() => decodeEvent(envelope, EVENTS)) },
    {
      side: 'consumer',
      step: 'counted and timed (metrics)',
      cpuUs: time(() => metrics.record({ queue: 'q', eventType: 'order.placed', outcome: 'ack', durationMs: 1.2 })),
    },
  ];
  return timings;
}

/**
 * The library's metrics as MessagingService makes them, with no outbox table behind the backlog probe
 * (the probes only run when the registry is read).
 */
export function benchMetrics(connected: () => boolean = () => true): MessagingMetrics {
  return new MessagingMetrics({ outbox: async () => ({ backlog: 0, oldestAgeSeconds: 0 }), connected });
}

/** Sum of one side's steps, µs per message. */
export function stepsTotal(timings: readonly StepTiming[], side: StepTiming['side']): number {
  return timings.filter((t) => t.side === side).reduce((sum, t) => sum + t.cpuUs, 0);
}
