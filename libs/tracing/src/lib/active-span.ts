import { trace, type SpanContext } from '@opentelemetry/api';
import { formatTraceparent } from '@shop/contracts';

/** The active span's context when tracing records it (an HTTP request, a handler), else undefined. */
export function activeSpanContext(): SpanContext | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span.spanContext() : undefined;
}

/** A span context as a W3C `traceparent`. */
export function formatSpanContext(spanContext: SpanContext): string {
  return formatTraceparent({
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
    flags: spanContext.traceFlags & 1 ? '01' : '00',
  });
}

/** The traceparent of the active span when tracing records it (an HTTP server span, say). */
export function traceparentOfActiveSpan(): string | undefined {
  const active = activeSpanContext();
  return active ? formatSpanContext(active) : undefined;
}
