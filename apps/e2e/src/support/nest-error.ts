import type { HttpResponse } from './shop-client';

export interface NestError {
  statusCode: number;
  error: string;
  message: string | string[];
}

/**
 * Asserts SPEC.md's error shape, `{"statusCode", "error", "message"}` in JSON, with the given status;
 * each of `fields` must be named by one of the messages (then `message` must be an array, as Nest's
 * ValidationPipe gives it). Returns the messages as one string array.
 */
export function expectNestError(response: HttpResponse, status: number, fields: Array<string | RegExp> = []): string[] {
  if (response.status !== status) {
    throw new Error(`expected a ${status}, got ${response.status}: ${response.text.slice(0, 800)}`);
  }
  expect(response.headers.get('content-type') ?? '').toMatch(/application\/json/);
  const body = response.body as NestError;
  expect(body).toEqual(expect.objectContaining({ statusCode: status, error: expect.any(String) }));
  const messages = Array.isArray(body.message) ? body.message : [String(body.message)];
  if (fields.length) {
    expect(Array.isArray(body.message)).toBe(true);
    for (const field of fields) {
      const pattern = typeof field === 'string' ? new RegExp(`\\b${escape(field)}\\b`) : field;
      if (!messages.some((message) => pattern.test(message))) {
        throw new Error(`no message names ${pattern} in ${JSON.stringify(messages)}`);
      }
    }
  }
  return messages;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
