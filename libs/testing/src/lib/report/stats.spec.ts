import { percentile, summarize } from './stats';

describe('percentile (nearest rank)', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('is NaN without values', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([], 0)).toBeNaN();
  });

  it('is NaN for a p that is not a number', () => {
    expect(percentile(ten, NaN)).toBeNaN();
  });

  it('is the only value of a single value, at any p', () => {
    for (const p of [0, 1, 50, 99, 100]) expect(percentile([7], p)).toBe(7);
  });

  it('picks the smallest value with at least p% at or below it', () => {
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 90)).toBe(9);
    expect(percentile(ten, 91)).toBe(10);
    expect(percentile(ten, 99)).toBe(10);
    expect(percentile(ten, 10)).toBe(1);
    expect(percentile(ten, 11)).toBe(2);
  });

  it('is the minimum at p 0 and the maximum at p 100, and clamps p outside 0..100', () => {
    expect(percentile(ten, 0)).toBe(1);
    expect(percentile(ten, 100)).toBe(10);
    expect(percentile(ten, -5)).toBe(1);
    expect(percentile(ten, 150)).toBe(10);
  });

  it('returns one of the values, never an interpolation', () => {
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20], 51)).toBe(20);
    expect(percentile([1, 2, 3, 4], 75)).toBe(3);
  });

  it('matches the textbook p99 of 1..1000', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(values, 99)).toBe(990);
    expect(percentile(values, 99.9)).toBe(999);
  });
});

describe('summarize', () => {
  it('sorts a copy and gives median, min, max and n', () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({ median: 3, min: 1, max: 5, n: 5 });
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });

  it('sorts numerically, not as strings', () => {
    expect(summarize([10, 9, 100, 1])).toEqual({ median: 9, min: 1, max: 100, n: 4 });
  });

  it('takes the lower middle value for an even count', () => {
    expect(summarize([4, 1, 3, 2]).median).toBe(2);
  });

  it('handles a single value and negative numbers', () => {
    expect(summarize([3])).toEqual({ median: 3, min: 3, max: 3, n: 1 });
    expect(summarize([-1, -5, 2])).toEqual({ median: -1, min: -5, max: 2, n: 3 });
  });

  it('is NaN with n 0 without values', () => {
    const empty = summarize([]);
    expect(empty.n).toBe(0);
    expect(empty.median).toBeNaN();
    expect(empty.min).toBeNaN();
    expect(empty.max).toBeNaN();
  });
});
