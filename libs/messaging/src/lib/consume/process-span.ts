import { trace } from '@opentelemetry/api';
import type { CloudEvent } from '@shop/contracts';
import { contextOf, failSpan, otelContext, SemConv, SpanKind, startSpan, traceparentOf } from '../tracing/otel';
import { TraceContext, type TraceScope } from '../tracing/trace-context';

export interface Delivery {
  queue: string;
  exchange: string;
  routingKey: string;
  deliveryTag: number;
  bodySize: number;
}

/**
 * Runs a handler in the trace of its event: in its "process" span (child of the publish that delivered
 * it) when tracing is on, so that its database work and the events it publishes are children of that
 * span; with tracing off, in a scope with a span id of its own in the event's trace. A synchronous
 * handler stays synchronous.
 */
export function inProcessSpan(
  event: CloudEvent<unknown>,
  delivery: Delivery,
  scope: TraceScope,
  run: () => unknown,
): unknown {
  const span = startSpan(
    `process ${delivery.queue}`,
    SpanKind.CONSUMER,
    () => contextOf(scope.traceparent),
    () => ({
      [SemConv.system]: 'rabbitmq',
      [SemConv.operationType]: 'process',
      [SemConv.operationName]: 'process',
      [SemConv.destination]: delivery.exchange,
      [SemConv.routingKey]: delivery.routingKey,
      [SemConv.subscription]: delivery.queue,
      [SemConv.deliveryTag]: delivery.deliveryTag,
      [SemConv.messageId]: event.id,
      [SemConv.conversationId]: event.subject,
      [SemConv.bodySize]: delivery.bodySize,
      [SemConv.cloudEventId]: event.id,
      [SemConv.cloudEventType]: event.type,
      [SemConv.cloudEventSource]: event.source,
    }),
  );
  if (!span) return TraceContext.run(scope, run);
  let result: unknown;
  try {
    result = TraceContext.run({ ...scope, traceparent: traceparentOf(span, scope.traceparent) }, () =>
      otelContext.with(trace.setSpan(otelContext.active(), span), run),
    );
  } catch (error) {
    failSpan(span, error);
    throw error;
  }
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    return Promise.resolve(result).then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        failSpan(span, error);
        throw error;
      },
    );
  }
  span.end();
  return result;
}
