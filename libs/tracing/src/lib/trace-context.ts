import { AsyncLocalStorage } from 'node:async_hooks';
import { parseTraceparent } from '@shop/contracts';
import { activeSpanContext } from './active-span';

/** What flows from a consumed event (or an HTTP request) to the events published while handling it. */
export interface TraceScope {
  /** W3C traceparent of the current operation; events published from it become its children. */
  traceparent?: string;
  tracestate?: string;
  /** Id of the event being handled: the causation id of everything published from its handler. */
  causationId?: string;
}

const storage = new AsyncLocalStorage<TraceScope>();

export const TraceContext = {
  run<T>(scope: TraceScope, work: () => T): T {
    return storage.run(scope, work);
  },
  current(): TraceScope | undefined {
    return storage.getStore();
  },
  /**
   * Trace and span id of the current operation, for logs: the active OpenTelemetry span when tracing
   * records, else the scope's traceparent; undefined outside any request or handler.
   */
  ids(): { traceId: string; spanId: string } | undefined {
    const active = activeSpanContext();
    if (active) return { traceId: active.traceId, spanId: active.spanId };
    const tp = parseTraceparent(storage.getStore()?.traceparent);
    return tp ? { traceId: tp.traceId, spanId: tp.spanId } : undefined;
  },
};
