import { parseTraceparent } from '@shop/contracts';
import { TraceContext } from '@shop/tracing';
import type { Request, Response } from 'express';
import { TraceMiddleware } from './trace.middleware';

function run(headers: Record<string, string>) {
  const answered: Record<string, string> = {};
  const req = { header: (name: string) => headers[name] } as unknown as Request;
  const res = { setHeader: (name: string, value: string) => (answered[name] = value) } as unknown as Response;
  let seen: ReturnType<typeof TraceContext.current> | undefined;
  new TraceMiddleware().use(req, res, () => (seen = TraceContext.current()));
  return { seen, answered };
}

describe('TraceMiddleware', () => {
  it("continues the caller's trace for everything the request does", () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { seen, answered } = run({ traceparent, tracestate: 'vendor=1' });
    expect(seen).toEqual({ traceparent, tracestate: 'vendor=1' });
    expect(answered['traceparent']).toBe(traceparent);
  });

  it('starts a new trace when the header is missing or malformed', () => {
    const cases: Record<string, string>[] = [
      {},
      { traceparent: 'garbage' },
      { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
    ];
    for (const headers of cases) {
      const { seen, answered } = run(headers);
      expect(parseTraceparent(seen?.traceparent)).toBeDefined();
      expect(seen?.traceparent).not.toBe(headers['traceparent']);
      expect(seen?.tracestate).toBeUndefined();
      expect(answered['traceparent']).toBe(seen?.traceparent);
    }
  });
});
