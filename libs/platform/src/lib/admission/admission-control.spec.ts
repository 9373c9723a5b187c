import { AdmissionControl, outboxSignal, type LoadReading, type LoadSignal } from './admission-control';

/** A signal whose reading the test sets, counting its reads. */
function signal(name: string, initial: LoadReading = { overloaded: false, detail: 'fine' }) {
  const s = { name, reading: initial, reads: 0, fail: false };
  const loadSignal: LoadSignal = {
    name,
    read: async () => {
      s.reads++;
      if (s.fail) throw new Error('database away');
      return s.reading;
    },
  };
  return Object.assign(s, { loadSignal });
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const options = { maxInFlight: 0, maxEventLoopDelayMs: 0, sampleIntervalMs: 100, retryAfterSeconds: 1 };

describe('AdmissionControl', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000));

  it('refuses past the requests in flight, and admits again once one is answered', () => {
    const admission = new AdmissionControl({ ...options, maxInFlight: 2 }, [], clock);
    const first = admission.admit();
    const second = admission.admit();
    expect(first.admitted && second.admitted).toBe(true);
    const third = admission.admit();
    expect(third).toEqual({
      admitted: false,
      signal: 'in-flight',
      detail: '2 requests in flight (at most 2)',
      retryAfterSeconds: 1,
    });
    if (first.admitted) {
      first.release();
      first.release(); // once only
    }
    expect(admission.admit().admitted).toBe(true);
    expect(admission.admit().admitted).toBe(false);
  });

  it('decides on the last reading of its signals, read at most once per interval', async () => {
    const saga = signal('saga-lag');
    const admission = new AdmissionControl(options, [saga.loadSignal], clock);
    expect(admission.admit().admitted).toBe(true); // no reading yet: unknown, admitted
    await settle();
    expect(saga.reads).toBe(1);

    saga.reading = { overloaded: true, detail: '42 late' };
    now += 50;
    expect(admission.admit().admitted).toBe(true); // the last reading said fine
    await settle();
    expect(saga.reads).toBe(1); // within the interval: not read again

    now += 60;
    admission.admit(); // starts a read
    await settle();
    expect(saga.reads).toBe(2);
    expect(admission.admit()).toEqual({ admitted: false, signal: 'saga-lag', detail: '42 late', retryAfterSeconds: 1 });

    saga.reading = { overloaded: false, detail: 'fine' };
    now += 100;
    admission.admit();
    await settle();
    expect(admission.admit().admitted).toBe(true);
  });

  it("admits no more than a signal's headroom until the next reading", async () => {
    const saga = signal('saga-lag', { overloaded: false, detail: '37 in flight (at most 40)', headroom: 3 });
    const admission = new AdmissionControl(options, [saga.loadSignal], clock);
    admission.admit(); // before the first reading: unknown, admitted, and maybe not seen by the reading
    await settle();
    const decisions = [1, 2, 3].map(() => admission.admit().admitted);
    expect(decisions).toEqual([true, true, false]);
    expect(admission.admit()).toMatchObject({ signal: 'saga-lag', detail: '37 in flight (at most 40)' });
    now += 100; // a new reading (taken while the headroom was spent: this request is refused)
    expect(admission.admit().admitted).toBe(false);
    await settle();
    expect([1, 2, 3, 4].map(() => admission.admit().admitted)).toEqual([true, true, true, false]);
  });

  it('counts a reading older than two intervals (after an idle spell) as unknown', async () => {
    const saga = signal('saga-lag', { overloaded: true, detail: 'late' });
    const admission = new AdmissionControl(options, [saga.loadSignal], clock);
    admission.admit();
    await settle();
    expect(admission.admit().admitted).toBe(false);
    now += 10_000; // idle: the next request reads again, and is not refused on the old reading
    expect(admission.admit().admitted).toBe(true);
  });

  it('keeps the last readings while a read is under way, and refuses when the read itself is slow', async () => {
    let answer: (reading: LoadReading) => void = () => undefined;
    let reads = 0;
    const slow: LoadSignal = {
      name: 'saga-lag',
      read: () => {
        reads++;
        return reads === 1
          ? { overloaded: true, detail: 'late' }
          : new Promise<LoadReading>((resolve) => (answer = resolve));
      },
    };
    const admission = new AdmissionControl(options, [slow], clock);
    admission.admit();
    await settle();
    now += 100;
    // a read starts and does not answer: the last reading (full) still refuses
    expect(admission.admit()).toMatchObject({ admitted: false, signal: 'saga-lag' });
    now += 300;
    expect(admission.admit()).toMatchObject({ admitted: false, signal: 'saga-lag' });
    now += 250; // 550 ms into the read: longer than 5 intervals
    expect(admission.admit()).toEqual({
      admitted: false,
      signal: 'slow-signals',
      detail: 'the load signals took more than 500 ms to read',
      retryAfterSeconds: 1,
    });
    answer({ overloaded: false, detail: 'fine' });
    await settle();
    expect(admission.admit().admitted).toBe(true);
  });

  it('takes a signal that cannot be read as saying nothing', async () => {
    const saga = signal('saga-lag', { overloaded: true, detail: 'late' });
    const outbox = signal('outbox');
    const admission = new AdmissionControl(options, [saga.loadSignal, outbox.loadSignal], clock);
    saga.fail = true;
    admission.admit();
    await settle();
    expect(admission.lastReadings().map((r) => r.name)).toEqual(['outbox']);
    expect(admission.admit().admitted).toBe(true);
  });

  it('reads the event-loop delay of the process', async () => {
    const admission = new AdmissionControl({ ...options, maxEventLoopDelayMs: 20, sampleIntervalMs: 500 }, [], () =>
      performance.now(),
    );
    admission.admit();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const blockedUntil = Date.now() + 120; // the loop blocked for 120 ms
    while (Date.now() < blockedUntil);
    await new Promise((resolve) => setTimeout(resolve, 30));
    admission.admit(); // reads the window with the block
    await settle();
    const decision = admission.admit();
    admission.onApplicationShutdown();
    expect(decision).toMatchObject({ admitted: false, signal: 'event-loop-delay' });
    expect(decision.admitted === false && decision.detail).toMatch(/^event-loop delay p99 1\d\d ms \(at most 20 ms\)$/);
  });
});

describe('AdmissionControl.admitOrWait', () => {
  const waiting = { ...options, maxInFlight: 10, maxQueueMs: 250 };
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  /** An AdmissionControl whose first reading (taken after one admitted request) finds no room. */
  const atTheLimit = async () => {
    const saga = signal('saga-lag', { overloaded: false, detail: '40 in flight (at most 40)', headroom: 0 });
    const admission = new AdmissionControl(waiting, [saga.loadSignal]);
    admission.admitOrWait(); // before any reading: admitted
    await jest.advanceTimersByTimeAsync(0);
    return { saga, admission };
  };

  /** Where a promise stands: its admission, or 'waiting'. */
  const state = async (decision: ReturnType<AdmissionControl['admitOrWait']>) => {
    let settled: unknown = 'waiting';
    void Promise.resolve(decision).then((value) => (settled = value));
    await Promise.resolve();
    await Promise.resolve();
    return settled as ReturnType<AdmissionControl['admit']> | 'waiting';
  };

  it('lets a request that lacks only room wait for the next readings, the latest first', async () => {
    const { saga, admission } = await atTheLimit();
    const first = admission.admitOrWait();
    const second = admission.admitOrWait();
    expect(first).toBeInstanceOf(Promise);
    expect(admission.waiting).toBe(2);
    expect(await state(first)).toBe('waiting');

    // the next reading (read on time while they wait) has room for one: the one that waited least
    saga.reading = { overloaded: false, detail: '39 in flight (at most 40)', headroom: 1 };
    await jest.advanceTimersByTimeAsync(100);
    expect(await state(second)).toMatchObject({ admitted: true });
    expect(await state(first)).toBe('waiting');
    // a newcomer finds the room spent and someone waiting: it waits too
    const third = admission.admitOrWait();
    expect(admission.waiting).toBe(2);

    saga.reading = { overloaded: false, detail: '38 in flight (at most 40)', headroom: 2 };
    await jest.advanceTimersByTimeAsync(100);
    expect(await state(third)).toMatchObject({ admitted: true });
    expect(await state(first)).toMatchObject({ admitted: true });
    expect(admission.waiting).toBe(0);
  });

  it('refuses a waiting request once its wait is over, with the last reason and Retry-After', async () => {
    const { saga, admission } = await atTheLimit();
    const decision = admission.admitOrWait();
    await jest.advanceTimersByTimeAsync(150);
    expect(await state(decision)).toBe('waiting');
    saga.reading = { overloaded: false, detail: '41 in flight (at most 40)', headroom: 0 }; // read at 200 ms
    await jest.advanceTimersByTimeAsync(99);
    expect(await state(decision)).toBe('waiting');
    await jest.advanceTimersByTimeAsync(1); // 250 ms
    expect(await state(decision)).toEqual({
      admitted: false,
      signal: 'saga-lag',
      detail: '41 in flight (at most 40)',
      retryAfterSeconds: 1,
    });
    expect(admission.waiting).toBe(0);
  });

  it('refuses at once, and every waiting request, when a reading says the system is late', async () => {
    const { saga, admission } = await atTheLimit();
    const queued = [admission.admitOrWait(), admission.admitOrWait()];
    saga.reading = { overloaded: true, detail: '9 of 40 late' };
    await jest.advanceTimersByTimeAsync(100);
    for (const decision of queued)
      expect(await state(decision)).toMatchObject({ admitted: false, detail: '9 of 40 late' });
    // late: a newcomer is not queued
    expect(admission.admitOrWait()).toMatchObject({ admitted: false, detail: '9 of 40 late' });
  });

  it('queues no more than the requests in flight allow, and not at all with maxQueueMs 0', async () => {
    const full = { overloaded: false, detail: 'no room', headroom: 0 };
    const saga = signal('saga-lag', full);
    const admission = new AdmissionControl({ ...waiting, maxInFlight: 3 }, [saga.loadSignal]);
    admission.admitOrWait(); // admitted: 1 in flight
    await jest.advanceTimersByTimeAsync(0);
    expect(admission.admitOrWait()).toBeInstanceOf(Promise);
    expect(admission.admitOrWait()).toBeInstanceOf(Promise);
    expect(admission.admitOrWait()).toMatchObject({ admitted: false, detail: 'no room' });
    expect(admission.waiting).toBe(2);

    const immediate = new AdmissionControl({ ...waiting, maxQueueMs: 0 }, [signal('saga-lag', full).loadSignal]);
    immediate.admitOrWait();
    await jest.advanceTimersByTimeAsync(0);
    expect(immediate.admitOrWait()).toMatchObject({ admitted: false, detail: 'no room' });
  });
});

describe('outboxSignal', () => {
  it('is full when the oldest event has waited past the limit', async () => {
    expect(await outboxSignal(async () => ({ backlog: 3, oldestAgeSeconds: 6.2 }), 5_000).read()).toEqual({
      overloaded: true,
      detail: '3 events in the outbox, the oldest 6200 ms old (at most 5000 ms)',
    });
    expect((await outboxSignal(async () => ({ backlog: 3, oldestAgeSeconds: 0.2 }), 5_000).read()).overloaded).toBe(
      false,
    );
    expect((await outboxSignal(async () => ({ backlog: 3, oldestAgeSeconds: 60 }), 0).read()).overloaded).toBe(false);
  });
});
