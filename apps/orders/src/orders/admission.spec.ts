import { SagaLimit } from './admission';

describe('SagaLimit', () => {
  it('cuts the orders in flight it admits when they queue, and grows back while none is late', () => {
    const limit = new SagaLimit(300, 5);
    expect(limit.update(20, 0)).toEqual({
      overloaded: false,
      detail: '20 orders in flight (at most 200 now)',
      headroom: 180,
    });
    expect(limit.current()).toBe(200); // not in use: not raised

    // 120 in flight, 40 of them for more than 300 ms: refused, and the limit cut to 0.7 of 120
    expect(limit.update(120, 40)).toEqual({
      overloaded: true,
      detail: '40 of 120 orders in flight for more than 300 ms (at most 5)',
    });
    expect(limit.current()).toBe(84);
    // drained to 90, none late: still over the limit, no room (and the limit, in use, raised a tenth)
    expect(limit.update(90, 0)).toEqual({
      overloaded: false,
      detail: '90 orders in flight (at most 84 now)',
      headroom: 0,
    });
    expect(limit.update(30, 0).overloaded).toBe(false);
    expect(limit.current()).toBe(93);
  });

  it('lets a few late orders (retries) be, and never goes below its minimum', () => {
    const limit = new SagaLimit(300, 5);
    expect(limit.update(8, 5).overloaded).toBe(false);
    limit.update(6, 6);
    expect(limit.current()).toBe(SagaLimit.MIN);
    expect(limit.update(9, 0).overloaded).toBe(false);
  });
});
