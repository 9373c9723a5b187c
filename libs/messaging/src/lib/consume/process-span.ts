import { trace } from '@opentelemetry/api';
import type { ConsumeMessage } from 'amqplib';
import type { CloudEvent } from '@shop/contracts';
import {
  contextOf,
  failSpan,
  isPromiseLike,
  messagingAttributes,
  otelContext,
  SemConv,
  SpanKind,
  startSpan,
  traceparentOf,
} from '../tracing/otel';
import { TraceContext, type TraceScope } from '@shop/tracing';

/**
 * Runs a handler in the trace of its event: in its "process" span (child of the publish that delivered
 * it) when tracing is on, so that its database work and the events it publishes are children of that
 * span; with tracing off, in the scope of the event. A synchronous handler stays synchronous.
 */
export function inProcessSpan(
  event: CloudEvent<unknown>,
  queue: string,
  message: ConsumeMessage,
  scope: TraceScope,
  run: () => unknown,
): unknown {
  const span = startSpan(
    `process ${queue}`,
    SpanKind.CONSUMER,
    () => contextOf(scope.traceparent),
    () =>
      messagingAttributes(
        { type: 'process', name: 'process' },
        {
          exchange: message.fields.exchange,
          routingKey: message.fields.routingKey,
          id: event.id,
          orderId: event.subject,
        },
        {
          [SemConv.subscription]: queue,
          [SemConv.deliveryTag]: message.fields.deliveryTag,
          [SemConv.bodySize]: message.content.length,
          [SemConv.cloudEventId]: event.id,
          [SemConv.cloudEventType]: event.type,
          [SemConv.cloudEventSource]: event.source,
        },
      ),
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
  if (!isPromiseLike(result)) {
    span.end();
    return result;
  }
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
