export { TraceContext, type TraceScope } from './lib/trace-context';
export { activeSpanContext, formatSpanContext, traceparentOfActiveSpan } from './lib/active-span';
