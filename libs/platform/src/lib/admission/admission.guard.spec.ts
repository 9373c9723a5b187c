import { Logger, ServiceUnavailableException, type ExecutionContext } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { loggingParams } from '../logging/logging';
import { AdmissionControl, type Admission } from './admission-control';
import { AdmissionGuard } from './admission.guard';

/** An Express response as far as the guard and pino-http's level choice use it. */
function response() {
  const headers: Record<string, string> = {};
  return {
    statusCode: 503,
    headers,
    set: (name: string, value: string) => (headers[name] = value),
    once: jest.fn(),
    off: jest.fn(),
  };
}

const contextOf = (res: ReturnType<typeof response>) =>
  ({ switchToHttp: () => ({ getResponse: () => res }) }) as unknown as ExecutionContext;

describe('AdmissionGuard', () => {
  let decision: Admission;
  let warn: jest.SpyInstance;
  let guard: AdmissionGuard;
  let metrics: Metrics;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    decision = { admitted: false, signal: 'saga-lag', detail: '9 of 30 late', retryAfterSeconds: 1 };
    const admission = { admitOrWait: () => decision } as unknown as AdmissionControl;
    metrics = new Metrics();
    guard = new AdmissionGuard(admission, metrics);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.useRealTimers();
    warn.mockRestore();
  });

  it('refuses with a 503 in the error shape and Retry-After, counted by signal', async () => {
    const res = response();
    let thrown: unknown;
    try {
      guard.canActivate(contextOf(res));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ServiceUnavailableException);
    expect((thrown as ServiceUnavailableException).getResponse()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: ['overloaded: 9 of 30 late; try again in 1 s'],
    });
    expect(res.headers['Retry-After']).toBe('1');
    expect(await metrics.registry.getSingleMetricAsString('http_admission_refused_total')).toMatch(
      /http_admission_refused_total\{signal="saga-lag"\} 1$/m,
    );
  });

  it('admits, and frees the place when the response closes', () => {
    const release = jest.fn();
    decision = { admitted: true, release };
    const res = response();
    expect(guard.canActivate(contextOf(res))).toBe(true);
    expect(res.once).toHaveBeenCalledWith('close', release);
  });

  it('waits with a request that waits for room, and gives the place back if the client hung up meanwhile', async () => {
    const release = jest.fn();
    let admit: (admission: Admission) => void = () => undefined;
    const waited = new Promise<Admission>((resolve) => (admit = resolve));
    metrics = new Metrics();
    guard = new AdmissionGuard({ admitOrWait: () => waited, waiting: 1 } as unknown as AdmissionControl, metrics);
    const res = response();
    const decided = guard.canActivate(contextOf(res));
    expect(decided).toBeInstanceOf(Promise);
    expect(await metrics.registry.getSingleMetricAsString('http_admission_waiting')).toMatch(
      /^http_admission_waiting 1$/m,
    );
    const [event, hungUp] = res.once.mock.calls[0] as [string, () => void];
    expect(event).toBe('close');
    hungUp(); // the client went away while its request waited
    admit({ admitted: true, release });
    expect(await decided).toBe(true);
    expect(release).toHaveBeenCalled();
    expect(res.off).toHaveBeenCalledWith('close', hungUp);
  });

  it('logs no error line per refusal: one warning when refusing starts, then a summary per 10 s', () => {
    const refuse = () => expect(() => guard.canActivate(contextOf(response()))).toThrow();
    refuse();
    expect(warn.mock.calls.map(([line]) => line)).toEqual(['refusing requests (503, Retry-After): 9 of 30 late']);
    for (let i = 0; i < 99; i++) {
      jest.advanceTimersByTime(50); // 5 s of refusals
      refuse();
    }
    expect(warn).toHaveBeenCalledTimes(1);
    decision = { admitted: false, signal: 'in-flight', detail: '64 requests in flight', retryAfterSeconds: 1 };
    for (let i = 0; i < 101; i++) {
      jest.advanceTimersByTime(50);
      refuse();
    }
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[1][0]).toBe(
      'refused saga-lag 99, in-flight 101 more in 10 s; the last: 64 requests in flight',
    );

    // a refused response's access-log line is a debug one, not an error
    const res = response();
    expect(() => guard.canActivate(contextOf(res))).toThrow();
    const { customLogLevel } = loggingParams('orders', 'log', 'json').pinoHttp as {
      customLogLevel: (req: unknown, res: unknown, error?: Error) => string;
    };
    expect(customLogLevel({}, res)).toBe('debug');
    expect(customLogLevel({}, response())).toBe('error');
  });
});
