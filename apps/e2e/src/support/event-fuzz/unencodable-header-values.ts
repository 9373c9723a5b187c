/**
 * Header values, at any depth, that amqplib decodes into a number its own encoder then refuses
 * (NaN, -Infinity, below -2^63, or fractional between 2^50 and 2^52): a consumer that copies the
 * headers of such a message onto a retry or dead-letter copy cannot publish that copy.
 */
export function unencodableHeaderValues(headers: Record<string, unknown> | undefined): string[] {
  const found: string[] = [];
  const floating = (n: number) => n >= 2 ** 63 || (Math.abs(n) < 2 ** 50 && Math.floor(n) !== n);
  const refused = (n: number) => !floating(n) && !(Number.isInteger(n) && n >= -(2 ** 63) && n < 2 ** 63);
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) {
      if (typeof value === 'number' && refused(value)) found.push(`${path}=${value}`);
      return;
    }
    if (Array.isArray(value)) return value.forEach((item, i) => walk(item, `${path}[${i}]`));
    const typed = value as { '!'?: unknown; value?: unknown };
    if (Object.hasOwn(typed, '!')) {
      if (typed['!'] === 'double' || typed['!'] === 'float') {
        const n = typed['!'] === 'float' ? Math.fround(Number(typed.value)) : Number(typed.value);
        if (refused(n)) found.push(`${path}=${typed['!']} ${n}`);
      }
      return;
    }
    for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
  };
  walk(headers ?? {}, '');
  return found;
}
