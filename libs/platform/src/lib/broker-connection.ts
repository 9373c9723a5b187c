import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  brokerNodeUrls,
  redactBrokerUrl,
  type ArchiveRetention,
  type CompressionEncoding,
  type MessagingTlsOptions,
} from '@shop/messaging';
import type { BrokerSettings } from './broker-settings';
import { SettingsError } from './settings';

const TLS_FILES = ['RABBITMQ_TLS_CA_FILE', 'RABBITMQ_TLS_CERT_FILE', 'RABBITMQ_TLS_KEY_FILE'] as const;

/** What `MessagingModule.forRoot` needs of the settings to reach the broker. */
export interface BrokerConnection {
  url: string;
  tls?: MessagingTlsOptions;
  archive: ArchiveRetention;
  /** MESSAGING_COMPRESS_MIN_BYTES and MESSAGING_COMPRESS_ENCODING; false: MESSAGING_COMPRESS_MIN_BYTES=off. */
  compression: false | { minBytes: number; encoding: CompressionEncoding };
  /** MESSAGING_MAX_DECOMPRESSED_BYTES. */
  maxDecompressedBytes: number;
  /** RABBITMQ_MANAGEMENT_URL: the quorum queues' replicas are checked there at every connect. */
  managementUrl?: string;
  /** MESSAGING_ORDERED_PARTITIONS: the partitions of each ordered handler. */
  ordered: { partitions: number };
}

/**
 * The broker's URL, with the password of RABBITMQ_PASSWORD_FILE, and the contents of the TLS files.
 * Throws a SettingsError naming the setting when they do not fit together: TLS files without an
 * amqps:// URL, a certificate without its key (or the reverse), a file that is not what it should be.
 */
export function brokerConnection(settings: BrokerSettings): BrokerConnection {
  const {
    RABBITMQ_TLS_CA_FILE: caFile,
    RABBITMQ_TLS_CERT_FILE: certFile,
    RABBITMQ_TLS_KEY_FILE: keyFile,
    RABBITMQ_TLS_KEY_PASSPHRASE: passphrase,
    RABBITMQ_PASSWORD_FILE: passwordFile,
  } = settings;
  // One node, or several of one cluster: they share protocol and user (brokerNodeUrls checks it).
  const shownUrl = redactBrokerUrl(settings.RABBITMQ_URL);
  let nodes: URL[];
  try {
    nodes = brokerNodeUrls(settings.RABBITMQ_URL).map((node) => new URL(node));
  } catch (error) {
    // a caller that validated RABBITMQ_URL as one URL only (the dead-letters CLI)
    throw invalid('RABBITMQ_URL', (error as Error).message, shownUrl);
  }
  const [url] = nodes;
  const tlsSetting = TLS_FILES.find((name) => settings[name]);
  // Over amqp:// amqplib would silently ignore the certificates.
  if (tlsSetting && url.protocol !== 'amqps:') {
    throw invalid('RABBITMQ_URL', `expected an amqps:// URL, as ${tlsSetting} is set`, shownUrl);
  }
  if (certFile && !keyFile) {
    throw invalid('RABBITMQ_TLS_KEY_FILE', 'expected the key of RABBITMQ_TLS_CERT_FILE');
  }
  if (keyFile && !certFile) {
    throw invalid('RABBITMQ_TLS_CERT_FILE', 'expected the certificate of RABBITMQ_TLS_KEY_FILE');
  }
  if (passphrase && !keyFile) {
    throw invalid('RABBITMQ_TLS_KEY_FILE', 'expected the key RABBITMQ_TLS_KEY_PASSPHRASE decrypts');
  }

  let tls: MessagingTlsOptions | undefined;
  if (caFile || certFile) {
    tls = {};
    if (caFile) tls.ca = certificate('RABBITMQ_TLS_CA_FILE', caFile);
    if (certFile && keyFile) {
      tls.cert = certificate('RABBITMQ_TLS_CERT_FILE', certFile);
      tls.key = readFileSync(keyFile, 'utf8');
      if (!new X509Certificate(tls.cert).checkPrivateKey(privateKey(keyFile, tls.key, passphrase))) {
        throw invalid('RABBITMQ_TLS_KEY_FILE', 'expected the key of RABBITMQ_TLS_CERT_FILE', keyFile);
      }
      tls.passphrase = passphrase;
    }
  }

  const archive = { maxBytes: settings.ARCHIVE_MAX_BYTES, maxAge: settings.ARCHIVE_MAX_AGE };
  const payloads = {
    compression:
      settings.MESSAGING_COMPRESS_MIN_BYTES === false
        ? (false as const)
        : { minBytes: settings.MESSAGING_COMPRESS_MIN_BYTES, encoding: settings.MESSAGING_COMPRESS_ENCODING },
    maxDecompressedBytes: settings.MESSAGING_MAX_DECOMPRESSED_BYTES,
    ...(settings.RABBITMQ_MANAGEMENT_URL ? { managementUrl: settings.RABBITMQ_MANAGEMENT_URL } : {}),
    ordered: { partitions: settings.MESSAGING_ORDERED_PARTITIONS },
  };
  if (!passwordFile) return { url: settings.RABBITMQ_URL, tls, archive, ...payloads };
  const password = readFileSync(passwordFile, 'utf8').replace(/[\r\n]+$/, '');
  if (!password) throw invalid('RABBITMQ_PASSWORD_FILE', 'expected a password; the file is empty', passwordFile);
  if (!url.username) {
    throw invalid('RABBITMQ_URL', 'expected a user name for RABBITMQ_PASSWORD_FILE', shownUrl);
  }
  // Percent-encoded, as a password in a URL must be (the setter leaves "%" alone); amqplib decodes it.
  // Several nodes: each gets it, and they are joined as comma-separated full URLs.
  for (const node of nodes) node.password = encodeURIComponent(password);
  return { url: nodes.map((node) => node.toString()).join(','), tls, archive, ...payloads };
}

/**
 * What runApp calls right after loading the settings, so that a bad combination stops the app at
 * start like any bad setting.
 */
export function checkBrokerSettings(settings: BrokerSettings): void {
  brokerConnection(settings);
}

function certificate(name: string, path: string): string {
  const pem = readFileSync(path, 'utf8');
  try {
    new X509Certificate(pem);
  } catch {
    throw invalid(name, 'expected a PEM certificate', path);
  }
  return pem;
}

function privateKey(path: string, pem: string, passphrase: string | undefined): KeyObject {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
  if (encrypted && !passphrase) {
    throw invalid('RABBITMQ_TLS_KEY_PASSPHRASE', 'expected the passphrase of the encrypted RABBITMQ_TLS_KEY_FILE');
  }
  try {
    return createPrivateKey({ key: pem, passphrase });
  } catch {
    throw encrypted
      ? invalid(
          'RABBITMQ_TLS_KEY_PASSPHRASE',
          'expected the passphrase of RABBITMQ_TLS_KEY_FILE; this one does not decrypt it',
          '***',
        )
      : invalid('RABBITMQ_TLS_KEY_FILE', 'expected a PEM private key', path);
  }
}

/** The one line of loadSettings: "Invalid setting NAME: what was expected (what was given)". */
function invalid(name: string, expected: string, given?: string): SettingsError {
  const shown = given === undefined ? 'it is not set' : `got ${JSON.stringify(given)}`;
  return new SettingsError(`Invalid setting ${name}: ${expected} (${shown})`);
}
