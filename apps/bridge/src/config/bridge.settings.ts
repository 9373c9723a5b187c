import { HTTP_PRODUCERS, isHttpProducer, type HttpProducer } from '@shop/contracts';
import { commonSettings, setting } from '@shop/platform';
import { z } from 'zod';
import { UrlAllowList } from '../subscriptions/delivery';

/** A producer key is a bearer credential: long enough that guessing it is out of the question. */
const MIN_KEY_LENGTH = 32;

/**
 * BRIDGE_PRODUCER_KEYS: `erp=<key>[,<producer>=<key>...]`, one key per HTTP producer. Unset: only a
 * bearer token whose `sub` is the producer identifies one (with AUTH_JWT_SECRET or AUTH_JWKS_URL).
 */
const producerKeys = () =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      const keys = new Map<HttpProducer, string>();
      if (text === undefined) return keys;
      for (const entry of text.split(',').map((part) => part.trim())) {
        const at = entry.indexOf('=');
        const producer = entry.slice(0, Math.max(at, 0));
        const key = entry.slice(at + 1);
        let problem: string | undefined;
        if (at < 1) problem = 'expected <producer>=<key>, comma-separated';
        else if (!isHttpProducer(producer))
          problem = `"${producer}" is not an HTTP producer (${HTTP_PRODUCERS.join(', ')})`;
        else if (keys.has(producer)) problem = `${producer} has two keys`;
        else if (key.length < MIN_KEY_LENGTH)
          problem = `${producer}'s key must have at least ${MIN_KEY_LENGTH} characters`;
        if (problem) {
          ctx.addIssue({ code: 'custom', message: problem });
          return z.NEVER;
        }
        keys.set(producer as HttpProducer, key);
      }
      for (const [a, keyA] of keys) {
        for (const [b, keyB] of keys) {
          if (a < b && keyA === keyB) {
            ctx.addIssue({ code: 'custom', message: `${a} and ${b} have the same key` });
            return z.NEVER;
          }
        }
      }
      return keys;
    });

export const bridgeSettings = {
  ...commonSettings({ port: 3005, database: 'bridge' }),
  BRIDGE_PRODUCER_KEYS: producerKeys(),
  /**
   * Where push subscriptions may deliver: comma-separated origins, `https://hooks.example.com`,
   * `https://*.example.com`, `http://localhost:4000`, `http://10.0.0.7:*`. Empty: nowhere (subscriptions
   * are refused). An internal address (loopback, private, link-local) is reached only when its entry
   * names it literally, never through a wildcard or a DNS answer.
   */
  BRIDGE_SUBSCRIBER_ALLOWLIST: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return UrlAllowList.parse(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** The longest a subscriber may take to answer a delivery (connect, headers and body). */
  BRIDGE_DELIVERY_TIMEOUT_MS: setting.integer(10_000, 100, 300_000),
  /** Deliveries in flight per subscription, unless the subscription asks for fewer. */
  BRIDGE_DELIVERY_CONCURRENCY: setting.integer(4, 1, 64),
  /** Deliveries per second per subscription, unless the subscription asks for fewer. */
  BRIDGE_DELIVERY_RATE: setting.integer(100, 1, 10_000),
  /** Attempts of a delivery in all; the last failure dead-letters the event. */
  BRIDGE_DELIVERY_MAX_ATTEMPTS: setting.integer(8, 1, 100),
  /** The first retry's delay; each next one doubles, up to BRIDGE_RETRY_MAX_DELAY_MS. */
  BRIDGE_RETRY_INITIAL_DELAY_MS: setting.integer(1_000, 10, 3_600_000),
  BRIDGE_RETRY_MAX_DELAY_MS: setting.integer(300_000, 10, 86_400_000),
  /** How often each replica compares the subscriptions it delivers with the database's. */
  BRIDGE_SUBSCRIPTIONS_SYNC_MS: setting.integer(2_000, 100, 600_000),
};
export type BridgeSettings = z.infer<z.ZodObject<typeof bridgeSettings>>;
export const BRIDGE_SETTINGS = Symbol('BRIDGE_SETTINGS');
