import { z } from 'zod';
import { LOG_FORMATS } from './logging/logging';

/** A setting that is missing or malformed: its message is the one line the app prints before it stops. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

type Env = Record<string, string | undefined>;

/**
 * Reads the settings of `schema` from the environment: every key is an environment variable, every
 * value a zod schema that parses its text (with the default of SPEC.md). The first bad or missing one
 * throws a SettingsError naming it, with what was expected and what was given.
 */
export function loadSettings<S extends z.ZodRawShape>(shape: S, env: Env = process.env): z.infer<z.ZodObject<S>> {
  const raw: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) {
    // An empty variable is "not set" (what `FOO= node main.js` and compose's `FOO:` mean).
    const value = env[name];
    raw[name] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const result = z.object(shape).safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? '?');
  const given = raw[name];
  const shown = given === undefined ? 'it is not set' : `got ${JSON.stringify(isSecret(name) ? redact(given) : given)}`;
  throw new SettingsError(`Invalid setting ${name}: ${issue?.message ?? 'invalid'} (${shown})`);
}

function isSecret(name: string): boolean {
  return /URL$|PASSWORD|SECRET|TOKEN/.test(name);
}

function redact(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value.length > 80 ? `${value.slice(0, 80)}...` : value;
  }
}

/** The building blocks of the apps' settings: each parses the variable's text. */
export const setting = {
  port: (fallback: number) =>
    z.coerce
      .number({ error: 'expected a TCP port, an integer from 1 to 65535' })
      .int('expected a TCP port, an integer from 1 to 65535')
      .min(1, 'expected a TCP port, an integer from 1 to 65535')
      .max(65535, 'expected a TCP port, an integer from 1 to 65535')
      .default(fallback),

  integer: (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce
      .number({ error: `expected an integer from ${min} to ${max}` })
      .int(`expected an integer from ${min} to ${max}`)
      .min(min, `expected an integer from ${min} to ${max}`)
      .max(max, `expected an integer from ${min} to ${max}`)
      .default(fallback),

  fraction: (fallback: number) =>
    z.coerce
      .number({ error: 'expected a number from 0 to 1' })
      .min(0, 'expected a number from 0 to 1')
      .max(1, 'expected a number from 0 to 1')
      .default(fallback),

  url: (fallback: string, protocols: string[]) =>
    z
      .string()
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol);
          } catch {
            return false;
          }
        },
        `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
      )
      .default(fallback),

  oneOf: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
    z.enum(values, { error: `expected one of ${values.join(', ')}` }).default(fallback as never),
};

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelSetting = (typeof LOG_LEVELS)[number];

/** What every app reads: SPEC.md's ports and URLs, its own database by default. */
export function commonSettings(defaults: { port: number; database: string }) {
  return {
    PORT: setting.port(defaults.port),
    DATABASE_URL: setting.url(`postgres://postgres@localhost:5432/${defaults.database}`, ['postgres:', 'postgresql:']),
    RABBITMQ_URL: setting.url('amqp://guest:guest@localhost:5672', ['amqp:', 'amqps:']),
    LOG_LEVEL: setting.oneOf(LOG_LEVELS, 'log'),
    /** json (one object per line, the default) or pretty (readable, for development). */
    LOG_FORMAT: setting.oneOf(LOG_FORMATS, 'json'),
  };
}
