import { derive, mulberry32, random } from './prng';

describe('mulberry32', () => {
  it('is deterministic and in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(990);
  });

  it('derives distinct streams', () => {
    expect(derive(42, 1)).not.toBe(derive(42, 2));
    const r = random(derive(7, 3));
    for (let i = 0; i < 100; i++) expect(r.int(1, 3)).toBeGreaterThanOrEqual(1);
  });
});
