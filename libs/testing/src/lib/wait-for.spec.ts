import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls < 3 ? undefined : { calls }), {
      intervalMs: 1,
      description: 'three calls',
    });
    expect(value).toEqual({ calls: 3 });
  });

  it('treats 0, null and empty strings as values', async () => {
    expect(await waitFor(() => 0, { description: 'zero' })).toBe(0);
    expect(await waitFor(() => null, { description: 'null' })).toBeNull();
    expect(await waitFor(async () => '', { description: 'empty' })).toBe('');
  });

  it('keeps probing through errors and names the description and the last error on timeout', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 30, intervalMs: 5, description: 'the broker' },
      ),
    ).rejects.toThrow('Timed out after 30 ms waiting for the broker; last error: connection refused');
  });

  it('does not let a hanging probe hold it past the timeout', async () => {
    const started = Date.now();
    await expect(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 30, description: 'a hang' }),
    ).rejects.toThrow(/waiting for a hang/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
