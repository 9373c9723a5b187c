import { progressBar } from './progress';

describe('progressBar', () => {
  it('draws the done part with # and the rest with dots, and the percentage', () => {
    expect(progressBar(5, 10, 10)).toBe('[#####.....]  50%');
    expect(progressBar(0, 10, 10)).toBe('[..........]   0%');
    expect(progressBar(10, 10, 10)).toBe('[##########] 100%');
  });

  it('is 20 cells wide by default and rounds down', () => {
    expect(progressBar(1, 3)).toBe(`[${'#'.repeat(6)}${'.'.repeat(14)}]  33%`);
  });

  it('clamps to 0..total and treats an empty total as done', () => {
    expect(progressBar(15, 10, 4)).toBe('[####] 100%');
    expect(progressBar(-3, 10, 4)).toBe('[....]   0%');
    expect(progressBar(0, 0, 4)).toBe('[####] 100%');
    expect(progressBar(NaN, 10, 4)).toBe('[....]   0%');
  });

  it('keeps the same length all the way, for lines rewritten in place', () => {
    const lengths = new Set(Array.from({ length: 11 }, (_, i) => progressBar(i, 10).length));
    expect(lengths.size).toBe(1);
  });
});
