import { escapeXml, formatTick, formatValue, linearTicks, logTicks, niceStep, SECONDS_STEPS } from './svg';

describe('niceStep', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    expect([0.03, 0.3, 1, 1.01, 3, 7, 12, 45, 99, 150, 4000].map((raw) => niceStep(raw))).toEqual([
      0.05, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 5000,
    ]);
  });

  it('is 1 (or the first candidate) for a step that is not a positive number', () => {
    expect(niceStep(0)).toBe(1);
    expect(niceStep(-3)).toBe(1);
    expect(niceStep(NaN)).toBe(1);
    expect(niceStep(Infinity)).toBe(1);
    expect(niceStep(0, SECONDS_STEPS)).toBe(1);
  });

  it('prefers the candidates, and goes on in powers of ten past them', () => {
    expect(
      [0.1, 1, 3, 11, 14, 16, 25, 45, 61, 299, 300, 301, 601, 1500].map((raw) => niceStep(raw, SECONDS_STEPS)),
    ).toEqual([1, 1, 5, 15, 15, 20, 30, 60, 120, 300, 300, 600, 1000, 2000]);
  });
});

describe('linearTicks', () => {
  it('widens the range to whole nice steps', () => {
    expect(linearTicks(0, 87, 5)).toEqual({ lo: 0, hi: 100, step: 20, values: [0, 20, 40, 60, 80, 100] });
    expect(linearTicks(0.13, 0.92, 4)).toEqual({ lo: 0, hi: 1, step: 0.2, values: [0, 0.2, 0.4, 0.6, 0.8, 1] });
    expect(linearTicks(13, 92, 2)).toEqual({ lo: 0, hi: 100, step: 50, values: [0, 50, 100] });
  });

  it('has no floating-point noise in its values', () => {
    const { values } = linearTicks(0, 0.7, 7);
    expect(values).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  });

  it('starts exactly at a fixed minimum', () => {
    const ticks = linearTicks(5, 23, 5, 5);
    expect(ticks.lo).toBe(5);
    expect(ticks.values[0]).toBeGreaterThanOrEqual(5);
    expect(ticks.hi).toBeGreaterThanOrEqual(23);
  });

  it('gives a usable axis for one value, zero, negative and non-finite ranges', () => {
    for (const [min, max] of [
      [0, 0],
      [5, 5],
      [-3, -3],
      [NaN, 4],
      [-Infinity, Infinity],
    ] as const) {
      const ticks = linearTicks(min, max);
      expect(ticks.hi).toBeGreaterThan(ticks.lo);
      expect(ticks.values.length).toBeGreaterThan(0);
      expect(ticks.values.every(Number.isFinite)).toBe(true);
    }
    expect(linearTicks(0, 0).lo).toBe(0);
  });
});

describe('logTicks', () => {
  it('uses 1, 2 and 5 within three decades', () => {
    expect(logTicks(0.87, 300)).toEqual({
      lo: 0.5,
      hi: 500,
      step: 0,
      values: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500],
    });
  });

  it('uses powers of ten over more decades', () => {
    expect(logTicks(3, 250_000).values).toEqual([1, 10, 100, 1000, 10_000, 100_000, 1_000_000]);
  });

  it('survives a single value and nothing positive', () => {
    expect(logTicks(5, 5).hi).toBeGreaterThan(5);
    const ticks = logTicks(Infinity, -Infinity);
    expect(ticks.hi).toBeGreaterThan(ticks.lo);
    expect(ticks.values.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
  });
});

describe('formatTick and formatValue', () => {
  it('gives a tick the decimals its step needs', () => {
    expect(formatTick(0.5, 0.5)).toBe('0.5');
    expect(formatTick(0.25, 0.05)).toBe('0.25');
    expect(formatTick(40, 20)).toBe('40');
    expect(formatTick(0, 0.1)).toBe('0');
  });

  it('uses k and M for the ticks of an axis that reaches 10 000 or 1 000 000', () => {
    expect(formatTick(5000, 5000, 20_000)).toBe('5k');
    expect(formatTick(12_500, 2500, 20_000)).toBe('12.5k');
    expect(formatTick(1_500_000, 500_000, 2_000_000)).toBe('1.5M');
    expect(formatTick(5000, 1000, 8000)).toBe('5000');
  });

  it('labels values with three significant digits', () => {
    expect([0.012345, 1.2345, 12.345, 123.45, 12_345, 1_234_567].map(formatValue)).toEqual([
      '0.0123',
      '1.23',
      '12.3',
      '123',
      '12.3k',
      '1.23M',
    ]);
    expect(formatValue(NaN)).toBe('');
  });
});

describe('escapeXml', () => {
  it('escapes the five XML special characters', () => {
    expect(escapeXml(`<a href="x">Tom & Jerry's</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;',
    );
  });
});
