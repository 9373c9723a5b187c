import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { childTraceparent, parseTraceparent } from '@shop/contracts';
import { activeSpanContext, formatSpanContext } from '@shop/tracing';

export { activeSpanContext, formatSpanContext };

/**
 * OpenTelemetry spans of the messaging library, named and attributed after the OpenTelemetry
 * messaging semantic conventions (RabbitMQ). The library uses the API only: without an SDK (tracing
 * off) every span is a no-op and the W3C trace context still flows in the events, as before.
 */
export const SemConv = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  subscription: 'messaging.destination.subscription.name',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  deliveryTag: 'messaging.rabbitmq.message.delivery_tag',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  errorType: 'error.type',
  cloudEventId: 'cloudevents.event_id',
  cloudEventType: 'cloudevents.event_type',
  cloudEventSource: 'cloudevents.event_source',
  cloudEventSubject: 'cloudevents.event_subject',
  dbSystem: 'db.system.name',
  dbNamespace: 'db.namespace',
} as const;

/** What every messaging span of the library carries, after the semantic conventions (RabbitMQ). */
export function messagingAttributes(
  operation: { type: 'create' | 'send' | 'process'; name: string },
  message: { exchange: string; routingKey: string; id: string; orderId: string },
  extra: Attributes = {},
): Attributes {
  return {
    [SemConv.system]: 'rabbitmq',
    [SemConv.operationType]: operation.type,
    [SemConv.operationName]: operation.name,
    [SemConv.destination]: message.exchange,
    [SemConv.routingKey]: message.routingKey,
    [SemConv.messageId]: message.id,
    [SemConv.conversationId]: message.orderId,
    ...extra,
  };
}

/** A promise or any thenable: what a handler may return when it does not finish synchronously. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function tracer() {
  return trace.getTracer('@shop/messaging');
}

/** The span context a `traceparent` names (remote), or undefined when it is malformed. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const tp = parseTraceparent(traceparent);
  return tp
    ? { traceId: tp.traceId, spanId: tp.spanId, traceFlags: parseInt(tp.flags, 16), isRemote: true }
    : undefined;
}

/** A context whose parent is the span `traceparent` names (the root context when there is none). */
export function contextOf(traceparent: string | undefined): Context {
  const spanContext = spanContextOf(traceparent);
  return spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

let enabled: boolean | undefined;

/**
 * Whether an OpenTelemetry SDK is registered (decided at the first span: the apps start the SDK before
 * anything else). Without one, the library builds no span at all: no attributes, no contexts.
 */
export function tracingEnabled(): boolean {
  if (enabled === undefined) {
    const provider = trace.getTracerProvider() as { getDelegate?: () => object };
    const delegate = provider.getDelegate?.() ?? provider;
    enabled = delegate.constructor.name !== 'NoopTracerProvider';
  }
  return enabled;
}

/**
 * The traceparent of `span` when it records; otherwise (tracing off) a new span id in the trace of
 * `parent`, so that trace ids still flow from request to event to event.
 */
export function traceparentOf(span: Span | undefined, parent: string | undefined): string {
  return span?.isRecording() ? formatSpanContext(span.spanContext()) : childTraceparent(parent);
}

/** A span, or undefined when tracing is off (then neither `parent` nor `attributes` is evaluated). */
export function startSpan(
  name: string,
  kind: SpanKind,
  parent: () => Context,
  attributes: () => Attributes,
): Span | undefined {
  if (!tracingEnabled()) return undefined;
  return tracer().startSpan(name, { kind, attributes: attributes() }, parent());
}

/** Ends `span` with the outcome of `work`, which runs with `span` active. */
export async function inSpan<T>(span: Span | undefined, work: () => Promise<T>): Promise<T> {
  if (!span) return work();
  try {
    const result = await context.with(trace.setSpan(context.active(), span), work);
    span.end();
    return result;
  } catch (error) {
    failSpan(span, error);
    throw error;
  }
}

export function failSpan(span: Span | undefined, error: unknown): void {
  if (!span) return;
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setAttribute(SemConv.errorType, err.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  span.end();
}

export { SpanKind, context as otelContext };
