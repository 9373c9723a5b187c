import { AsyncLocalStorage } from 'node:async_hooks';

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
};
