import { redactUrl } from '@shop/contracts';
import { redactBrokerUrl } from '@shop/messaging';
import { z } from 'zod';
import { brokerSettings, brokerUrl } from './broker-settings';
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
  const shown = given === undefined ? 'it is not set' : `got ${shownValue(name, given)}`;
  throw new SettingsError(`Invalid setting ${name}: ${issue?.message ?? 'invalid'} (${shown})`);
}

/** What the error shows of a bad value: a URL without its password, a secret only by its length. */
function shownValue(name: string, given: string): string {
  // several comma-separated nodes: each one's password hidden
  if (name === 'RABBITMQ_URL') return JSON.stringify(redactBrokerUrl(given));
  if (name.endsWith('URL')) return JSON.stringify(redactUrl(given, { unparsable: shownText }));
  if (/PASSWORD|SECRET|TOKEN/.test(name)) return `${given.length} characters`;
  return JSON.stringify(given);
}

/** Not a URL at all: the text itself, cut at 80 characters. */
function shownText(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}...` : value;
}

function urlWith(protocols: string[]) {
  return z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );
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

  url: (fallback: string, protocols: string[]) => urlWith(protocols).default(fallback),

  /** An optional secret shared with the token issuer, of at least `minLength` characters. */
  secret: (minLength: number) =>
    z.string().min(minLength, `expected a secret of at least ${minLength} characters`).optional(),

  /** An optional text, such as an issuer or an audience. */
  optionalText: () => z.string().optional(),

  /** An optional URL with one of `protocols`. */
  optionalUrl: (protocols: string[]) => urlWith(protocols).optional(),

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
    /** How long a query waits for a connection (a new one, or a free one of a busy pool) before it fails as an outage. */
    DATABASE_CONNECT_TIMEOUT_MS: setting.integer(5_000, 100, 600_000),
    /** The longest a statement may run, and a transaction sit idle, before PostgreSQL cancels it. */
    DATABASE_STATEMENT_TIMEOUT_MS: setting.integer(15_000, 100, 3_600_000),
    /** One broker, or several nodes of one cluster, comma-separated (SPEC.md). */
    RABBITMQ_URL: brokerUrl('amqp://guest:guest@localhost:5672'),
    ...brokerSettings(),
    LOG_LEVEL: setting.oneOf(LOG_LEVELS, 'log'),
    /** json (one object per line, the default) or pretty (readable, for development). */
    LOG_FORMAT: setting.oneOf(LOG_FORMATS, 'json'),
    /** HS256 tokens signed with this shared secret (32 characters at least); or AUTH_JWKS_URL, not both. Unset: open API. */
    AUTH_JWT_SECRET: setting.secret(32),
    /** Tokens signed with a key of this JWKS (RS256, ES256, EdDSA...); or AUTH_JWT_SECRET. */
    AUTH_JWKS_URL: setting.optionalUrl(['https:', 'http:']),
    /** When set, a token's `iss` must be this. */
    AUTH_JWT_ISSUER: setting.optionalText(),
    /** When set, a token's `aud` must hold this. */
    AUTH_JWT_AUDIENCE: setting.optionalText(),
    /** At most RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS per client (its token's subject, else its IP) and process; 0 turns it off. */
    RATE_LIMIT_MAX: setting.integer(1000, 0),
    RATE_LIMIT_WINDOW_MS: setting.integer(1000, 1),
  };
}
