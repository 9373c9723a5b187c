import { readFileSync } from 'node:fs';
import { z } from 'zod';

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
    /** A file holding the broker password (a Docker secret): it replaces RABBITMQ_URL's; trailing newlines are dropped. */
    RABBITMQ_PASSWORD_FILE: readableFile(),
  };
}

export type BrokerSettings = { RABBITMQ_URL: string } & z.infer<z.ZodObject<ReturnType<typeof brokerSettings>>>;
