import { kMaxLength } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  ARCHIVE_MAX_AGE_PATTERN,
  brokerNodeUrls,
  COMPRESSION_ENCODINGS,
  DEFAULT_COMPRESS_MIN_BYTES,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_ORDERED_PARTITIONS,
  MAX_ORDERED_PARTITIONS,
} from '@shop/messaging';

/** A file read at start (a certificate, a key, a Docker secret): the setting is its path, checked readable. */
const readableFile = () =>
  z
    .string()
    .superRefine((path, ctx) => {
      try {
        readFileSync(path);
      } catch (error) {
        // "ENOENT: no such file or directory", without the path Node appends
        ctx.addIssue({
          code: 'custom',
          message: `expected a readable file; ${(error as Error).message.split(',')[0]}`,
        });
      }
    })
    .optional();

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** The bytes of `5GB`, `512 MiB`, `8192`; NaN when it is no size. */
function bytesOf(text: string): number {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? BYTE_UNITS[match[2].toLowerCase()] : undefined;
  return match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
}

/** A size in bytes: an integer, or a number with a unit (`5GB`, `512 MiB`). */
const byteSize = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return fallback;
      const bytes = bytesOf(text);
      if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > max) {
        ctx.addIssue({
          code: 'custom',
          message:
            max < Number.MAX_SAFE_INTEGER
              ? `expected a size in bytes from 1 to ${max}, e.g. 16MiB`
              : 'expected a size in bytes, e.g. 5000000000 or 5GB or 512MiB',
        });
        return z.NEVER;
      }
      return bytes;
    });

/** A size in bytes as `byteSize`, or `off` (false). */
const byteSizeOrOff = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((text, ctx): number | false => {
      if (text === undefined || text.trim() === '') return fallback;
      if (text.trim().toLowerCase() === 'off') return false;
      const bytes = bytesOf(text);
      if (!Number.isSafeInteger(bytes) || bytes < 1) {
        ctx.addIssue({ code: 'custom', message: 'expected a size in bytes, e.g. 8192 or 8KiB, or off' });
        return z.NEVER;
      }
      return bytes;
    });

/**
 * RABBITMQ_URL: one amqp(s):// URL, or several nodes of one cluster (`amqp://u:p@h1,h2,h3:5672/shop`,
 * or comma-separated full URLs sharing protocol, user and vhost): what `brokerNodeUrls` takes. A bad one
 * is refused with brokerNodeUrls' reason.
 */
export const brokerUrl = (fallback: string) =>
  z
    .string()
    .superRefine((text, ctx) => {
      try {
        brokerNodeUrls(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .default(fallback);

/** The broker's TLS certificates and the broker password, in `commonSettings()` next to RABBITMQ_URL. */
export function brokerSettings() {
  return {
    /** PEM CA certificate(s) to trust for the broker's certificate, instead of Node's bundled CAs; needs amqps://. */
    RABBITMQ_TLS_CA_FILE: readableFile(),
    /** PEM client certificate, for a broker that requires one; with RABBITMQ_TLS_KEY_FILE. */
    RABBITMQ_TLS_CERT_FILE: readableFile(),
    /** PEM private key of RABBITMQ_TLS_CERT_FILE. */
    RABBITMQ_TLS_KEY_FILE: readableFile(),
    /** Decrypts RABBITMQ_TLS_KEY_FILE when it is encrypted. */
    RABBITMQ_TLS_KEY_PASSPHRASE: z.string().optional(),
    /**
     * The management API, with a `monitoring` user: `http://monitor:pw@rabbit-1:15672`. When set, the app's
     * quorum queues are checked for under-replication at every connect (a warning). Unset: not checked.
     */
    RABBITMQ_MANAGEMENT_URL: z
      .string()
      .refine((text) => {
        try {
          return ['http:', 'https:'].includes(new URL(text).protocol);
        } catch {
          return false;
        }
      }, 'expected a URL starting with http:// or https://')
      .optional(),
    /** A file holding the broker password (a Docker secret): it replaces RABBITMQ_URL's; trailing newlines are dropped. */
    RABBITMQ_PASSWORD_FILE: readableFile(),
    /** The event archive's size limit (the `shop.events` stream's x-max-length-bytes), when an app declares it. */
    ARCHIVE_MAX_BYTES: byteSize(5_000_000_000),
    /** The event archive's age limit, in the broker's syntax (x-max-age): 30D, 12h, 1Y. */
    ARCHIVE_MAX_AGE: z
      .string()
      .regex(ARCHIVE_MAX_AGE_PATTERN, 'expected a number and one of Y, M, D, h, m, s, e.g. 30D')
      .default('30D'),
    /** Event bodies larger than this are published compressed (8KiB); `off`: none is. */
    MESSAGING_COMPRESS_MIN_BYTES: byteSizeOrOff(DEFAULT_COMPRESS_MIN_BYTES),
    /** gzip (the default) or br (brotli): how bodies over MESSAGING_COMPRESS_MIN_BYTES are compressed. */
    MESSAGING_COMPRESS_ENCODING: z
      .enum(COMPRESSION_ENCODINGS, { error: `expected one of ${COMPRESSION_ENCODINGS.join(', ')}` })
      .default('gzip'),
    /** The most a compressed event body may decompress to (16MiB): a larger one is dead-lettered `undecompressable`. */
    MESSAGING_MAX_DECOMPRESSED_BYTES: byteSize(DEFAULT_MAX_DECOMPRESSED_BYTES, kMaxLength),
    /**
     * Partitions of each ordered handler's queue (`@ConsumeEvent({ ordered: 'subject' })`), 8: at most as
     * many handlers of it run at once over all replicas. Changing it re-hashes the subjects: drain first.
     */
    MESSAGING_ORDERED_PARTITIONS: z.coerce
      .number({ error: `expected an integer from 1 to ${MAX_ORDERED_PARTITIONS}` })
      .int(`expected an integer from 1 to ${MAX_ORDERED_PARTITIONS}`)
      .min(1, `expected an integer from 1 to ${MAX_ORDERED_PARTITIONS}`)
      .max(MAX_ORDERED_PARTITIONS, `expected an integer from 1 to ${MAX_ORDERED_PARTITIONS}`)
      .default(DEFAULT_ORDERED_PARTITIONS),
  };
}

export type BrokerSettings = { RABBITMQ_URL: string } & z.infer<z.ZodObject<ReturnType<typeof brokerSettings>>>;
