import { childTraceparent, formatTraceparent, newTraceparent, parseTraceparent } from './trace-context';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context', () => {
  it('parses a traceparent and formats it back unchanged', () => {
    const parsed = parseTraceparent(VALID);
    expect(parsed).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      flags: '01',
    });
    expect(formatTraceparent(parsed as NonNullable<typeof parsed>)).toBe(VALID);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['a long span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b70-01'],
    ['uppercase hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['non-hex characters', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['a one-digit flags field', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1'],
  ])('rejects a traceparent with %s', (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('starts a new sampled trace with random ids', () => {
    const [a, b] = [newTraceparent(), newTraceparent()];
    expect(parseTraceparent(a)).toMatchObject({ flags: '01' });
    expect(parseTraceparent(a)?.traceId).not.toBe(parseTraceparent(b)?.traceId);
  });

  it('continues the parent trace in a new span, keeping the flags', () => {
    const child = parseTraceparent(childTraceparent(VALID));
    expect(child?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child?.spanId).not.toBe('00f067aa0ba902b7');
    expect(child?.flags).toBe('01');
  });

  it('starts a new trace when the parent is missing or malformed', () => {
    expect(parseTraceparent(childTraceparent(undefined))).toBeDefined();
    expect(parseTraceparent(childTraceparent('garbage'))).toBeDefined();
  });
});
