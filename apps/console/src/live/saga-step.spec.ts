import { toStep } from './saga-step';

describe('toStep', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

  it('names the producer, the path and the trace of an archived event', () => {
    const step = toStep(
      {
        id: 'e-1',
        type: 'payment.captured',
        source: 'urn:shop:payments',
        time: '2026-12-06T20:00:00.000Z',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        data: { amount: 4980 },
      },
      'http://localhost:16686/',
    );
    expect(step).toEqual({
      id: 'e-1',
      type: 'payment.captured',
      producer: 'payments',
      time: '2026-12-06T20:00:00.000Z',
      path: 'saga',
      summary: 'payment captured: $49.80',
      traceId,
      traceUrl: `http://localhost:16686/trace/${traceId}`,
    });
  });

  it('links no trace without Jaeger, and puts refusals and their notices on the compensation path', () => {
    const declined = toStep({ id: 'e-2', type: 'payment.declined', traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(declined).toMatchObject({ path: 'compensation', traceId, traceUrl: null, producer: 'unknown' });
    const notice = toStep({ id: 'e-3', type: 'notification.sent', data: { kind: 'ORDER_CANCELLED' } });
    expect(notice.path).toBe('compensation');
    expect(toStep({ id: 'e-4', type: 'notification.sent', data: { kind: 'ORDER_CONFIRMED' } }).path).toBe('saga');
  });
});
