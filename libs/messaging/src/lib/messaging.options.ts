import { kMaxLength } from 'node:buffer';
import type { ConnectionOptions } from 'node:tls';
import type { AppName, EventRegistry } from '@shop/contracts';
import { DEFAULT_ARCHIVE_RETENTION, type ArchiveRetention } from './archive/archive';
import {
  COMPRESSION_ENCODINGS,
  DEFAULT_COMPRESS_MIN_BYTES,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type CompressionEncoding,
  type CompressionOptions,
} from './broker/payload-encoding';
import { brokerNodeUrls, redactBrokerUrl } from './broker/broker-urls';
import { DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from './consume/group-commit';

/** How a failing handler is retried: attempt n (1-based) waits min(initialDelayMs * factor^(n-1), maxDelayMs). */
export interface RetryPolicy {
  /** Handler attempts in all, the first included; the last failure dead-letters the message. */
  maxAttempts: number;
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
}

/** How one consumer takes its deliveries (`@ConsumeEvent` options, or the app's defaults). */
export interface ConsumerOptions {
  /** Unacknowledged deliveries the broker may push to this consumer. */
  prefetch?: number;
  /** Handlers of this consumer running at once (<= prefetch). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
}

/**
 * TLS to the broker, for an amqps:// URL: PEM text (or its bytes). The broker's certificate is always
 * verified, and its name against the URL's host; there is no way to turn that off.
 */
export interface MessagingTlsOptions {
  /** The CA(s) to trust for the broker's certificate; Node's bundled CAs when not given. */
  ca?: string | Buffer;
  /** A client certificate and its key, for a broker that asks for one (`fail_if_no_peer_cert`). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Decrypts an encrypted `key`. */
  passphrase?: string;
}

export interface MessagingOptions {
  /** The app this process is: it publishes to the exchange of that name, and names its queues after it. */
  app: AppName;
  /**
   * amqp:// or amqps:// URL of the broker, vhost included. It may name several nodes of one cluster
   * (`amqp://u:p@rabbit-1,rabbit-2,rabbit-3:5672/shop`, or comma-separated full URLs: brokerNodeUrls):
   * the app connects to one that answers and moves to the next when it is lost.
   */
  url: string;
  /**
   * With several nodes in `url`: which one is tried first. `random` (the default) spreads the apps'
   * connections over the cluster; `first` takes them in the order given (tests, a preferred node).
   */
  firstNode?: 'random' | 'first';
  /**
   * The management API (`http://monitor:pw@rabbit-1:15672`, a user with the `monitoring` tag): when set,
   * the app's quorum queues are checked for under-replication after every connect, and a warning logged
   * (AMQP cannot tell a queue's replicas). Unset: not checked.
   */
  managementUrl?: string;
  /** Certificates for an amqps:// `url`; without them amqps:// trusts Node's bundled CAs. */
  tls?: MessagingTlsOptions;
  /** Defaults for every consumer of the app, each overridable on its `@ConsumeEvent`. */
  consumerDefaults?: ConsumerOptions;
  /** Quorum queue `x-delivery-limit`: redeliveries (crashes, lost channels) before the broker dead-letters. */
  deliveryLimit?: number;
  /**
   * The handlers declared `ordered: 'subject'` (README, Ordered consumption): each gets `partitions`
   * quorum queues with single active consumer behind a consistent-hash exchange (8 by default;
   * MESSAGING_ORDERED_PARTITIONS). Changing it re-hashes the subjects: drain the partitions first.
   * Every `rebalanceIntervalMs` (10 s; 0: never) a replica that is the active consumer of more than
   * its share of the partitions in use hands the excess to the replicas waiting on them.
   */
  ordered?: { partitions?: number; rebalanceIntervalMs?: number };
  outbox?: {
    /** Safety-net poll; commits kick the relay at once. */
    pollIntervalMs?: number;
    batchSize?: number;
    /**
     * Event types that may have no subscriber (a fact published for whoever wants it later): when no
     * queue is bound, the event is confirmed as published instead of kept and retried. Every other
     * event is kept in the outbox until a queue is bound, so none is lost to a consumer deployed late.
     */
    unroutableAllowed?: string[];
    /** Cap of the backoff between publish attempts of one outbox row. */
    maxBackoffMs?: number;
    /**
     * The process that commits an event publishes it itself, at once; only when it has not done so
     * within this lease (it died, say) does any replica's relay take the row over.
     */
    leaseMs?: number;
    /**
     * How long the rows this process published wait to be deleted together (250 ms; at once when 500
     * wait): one DELETE commit for many events instead of one each. A row published and not yet deleted
     * when the process dies is published again after its lease; consumers drop the repeat.
     */
    deleteDelayMs?: number;
  };
  /**
   * Group commit of the transactions of handlers declared `@ConsumeEvent({ groupCommit: true })`
   * (GroupCommit): up to `lanes` (1) such transactions at once; those that wait for a lane share the
   * next one, up to `maxSize` (16) in one commit. Under light load every handler has a transaction of
   * its own. `false`: always one each, whatever the handlers declare.
   */
  groupCommit?: false | Partial<GroupCommitOptions>;
  inbox?: {
    /** How long processed message ids are remembered for duplicate detection. */
    retentionMs?: number;
  };
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * Longest wait for a node to accept the connection and open it (TCP and the AMQP handshake; 10 s): a
   * node that accepts and never answers (booting, half dead) is then given up for the next one.
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait for the setup on a new connection (topology, archive, publisher, consumers; 60 s): a
   * connection reset while it runs can leave an operation waiting for a reply that never comes, and
   * amqplib's recovery waits for the setup before it tries again. Past it the connection is torn down
   * and the next node tried.
   */
  setupTimeoutMs?: number;
  heartbeatSeconds?: number;
  /** Longest wait for in-flight handlers and the relay's last flush on shutdown. */
  shutdownTimeoutMs?: number;
  /** Events this app knows; defaults to every event of @shop/contracts. */
  registry?: EventRegistry;
  /**
   * Queues of this app that no handler consumes any more (a subscription moved elsewhere): deleted at
   * start, with their dead-letter queues, so that they do not keep filling.
   */
  retiredQueues?: string[];
  /** Retention of the event archive, when this app is the one that declares it. */
  archive?: Partial<ArchiveRetention>;
  /**
   * Compression of what the relay publishes: a body larger than `minBytes` (8 KiB) is compressed with
   * `encoding` (`gzip`, or `br` for brotli), its AMQP `contentEncoding` saying so; the outbox row and
   * the CloudEvent inside stay the same. `false`: every body goes plain. Consumers read plain and
   * compressed bodies alike, whatever this says.
   */
  compression?: false | { minBytes?: number; encoding?: CompressionEncoding };
  /**
   * The most a compressed body may decompress to (16 MiB), for the consumers, the archive reader and
   * the dead-letter listing: a body that would expand past it is refused as soon as its output reaches
   * it (a consumer dead-letters it as `undecompressable`).
   */
  maxDecompressedBytes?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1000, factor: 2, maxDelayMs: 60_000 };

/** What amqplib hands to `tls.connect` for an amqps:// URL. */
export type TlsSocketOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'rejectUnauthorized'>;

export interface ResolvedOptions {
  app: AppName;
  url: string;
  /** The node URLs of `url` (brokerNodeUrls): one for a single broker. */
  nodes: string[];
  firstNode: 'random' | 'first';
  managementUrl?: string;
  /** Socket options for amqplib's `connect`: none for amqp://. */
  tls: TlsSocketOptions;
  consumerDefaults: { prefetch: number; concurrency: number; retry: RetryPolicy };
  deliveryLimit: number;
  ordered: { partitions: number; rebalanceIntervalMs: number };
  outbox: {
    pollIntervalMs: number;
    batchSize: number;
    maxBackoffMs: number;
    unroutableAllowed: string[];
    leaseMs: number;
    deleteDelayMs: number;
  };
  /** Undefined: no group commit. */
  groupCommit: GroupCommitOptions | undefined;
  inbox: { retentionMs: number };
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  connectTimeoutMs: number;
  setupTimeoutMs: number;
  heartbeatSeconds: number;
  shutdownTimeoutMs: number;
  archive: ArchiveRetention;
  retiredQueues: string[];
  /** Undefined: the relay compresses nothing. */
  compression: CompressionOptions | undefined;
  maxDecompressedBytes: number;
}

export function resolveOptions(options: MessagingOptions): ResolvedOptions {
  const defaults = options.consumerDefaults ?? {};
  const prefetch = defaults.prefetch ?? 10;
  const nodes = nodesOf(options.url);
  return {
    app: options.app,
    url: options.url,
    nodes,
    firstNode: options.firstNode ?? 'random',
    managementUrl: options.managementUrl,
    tls: tlsSocketOptions(nodes[0], options.tls),
    consumerDefaults: {
      prefetch,
      concurrency: Math.min(defaults.concurrency ?? 5, prefetch),
      retry: { ...DEFAULT_RETRY, ...defaults.retry },
    },
    deliveryLimit: options.deliveryLimit ?? 20,
    ordered: orderedOf(options.ordered),
    outbox: {
      pollIntervalMs: options.outbox?.pollIntervalMs ?? 1000,
      batchSize: options.outbox?.batchSize ?? 100,
      deleteDelayMs: options.outbox?.deleteDelayMs ?? 250,
      maxBackoffMs: options.outbox?.maxBackoffMs ?? 30_000,
      unroutableAllowed: options.outbox?.unroutableAllowed ?? [],
      leaseMs: options.outbox?.leaseMs ?? 10_000,
    },
    groupCommit: options.groupCommit === false ? undefined : { ...DEFAULT_GROUP_COMMIT, ...options.groupCommit },
    inbox: { retentionMs: options.inbox?.retentionMs ?? 7 * 24 * 3600_000 },
    reconnect: {
      initialDelayMs: options.reconnect?.initialDelayMs ?? 200,
      maxDelayMs: options.reconnect?.maxDelayMs ?? 10_000,
    },
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    setupTimeoutMs: options.setupTimeoutMs ?? 60_000,
    heartbeatSeconds: options.heartbeatSeconds ?? 10,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 15_000,
    archive: { ...DEFAULT_ARCHIVE_RETENTION, ...options.archive },
    retiredQueues: options.retiredQueues ?? [],
    compression: compressionOf(options.compression),
    maxDecompressedBytes: maxDecompressedBytesOf(options.maxDecompressedBytes),
  };
}

function nodesOf(url: string): string[] {
  try {
    return brokerNodeUrls(url);
  } catch (error) {
    throw new Error(`MessagingOptions.url: ${(error as Error).message} (got "${redactBrokerUrl(url)}")`);
  }
}

/** The most partitions an ordered handler may have: each is a quorum queue and a channel per replica. */
export const MAX_ORDERED_PARTITIONS = 256;
export const DEFAULT_ORDERED_PARTITIONS = 8;

function orderedOf(ordered: MessagingOptions['ordered']): ResolvedOptions['ordered'] {
  const partitions = ordered?.partitions ?? DEFAULT_ORDERED_PARTITIONS;
  const rebalanceIntervalMs = ordered?.rebalanceIntervalMs ?? 10_000;
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > MAX_ORDERED_PARTITIONS) {
    throw new Error(
      `MessagingOptions.ordered.partitions must be an integer from 1 to ${MAX_ORDERED_PARTITIONS} (got ${partitions})`,
    );
  }
  if (!Number.isSafeInteger(rebalanceIntervalMs) || rebalanceIntervalMs < 0) {
    throw new Error(
      `MessagingOptions.ordered.rebalanceIntervalMs must be an integer >= 0 (got ${rebalanceIntervalMs})`,
    );
  }
  return { partitions, rebalanceIntervalMs };
}

function compressionOf(compression: MessagingOptions['compression']): CompressionOptions | undefined {
  if (compression === false) return undefined;
  const minBytes = compression?.minBytes ?? DEFAULT_COMPRESS_MIN_BYTES;
  const encoding = compression?.encoding ?? 'gzip';
  if (!Number.isSafeInteger(minBytes) || minBytes < 0) {
    throw new Error(`MessagingOptions.compression.minBytes must be an integer >= 0 (got ${minBytes})`);
  }
  if (!COMPRESSION_ENCODINGS.includes(encoding)) {
    throw new Error(
      `MessagingOptions.compression.encoding must be one of ${COMPRESSION_ENCODINGS.join(', ')} (got ${JSON.stringify(encoding)})`,
    );
  }
  return { minBytes, encoding };
}

function maxDecompressedBytesOf(value: number | undefined): number {
  const bytes = value ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  // zlib refuses a maxOutputLength past the largest Buffer
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > kMaxLength) {
    throw new Error(`MessagingOptions.maxDecompressedBytes must be an integer from 1 to ${kMaxLength} (got ${bytes})`);
  }
  return bytes;
}

/**
 * amqplib passes its socket options to `tls.connect` for an amqps:// URL, with the URL's host as
 * `host` and, unless it is an IP address, as `servername`: Node then checks the certificate's names
 * against that host (DNS or IP subject alternative names). Verification is forced on, even under
 * NODE_TLS_REJECT_UNAUTHORIZED=0; only the fields of MessagingTlsOptions are taken over.
 */
function tlsSocketOptions(url: string, tls: MessagingTlsOptions | undefined): TlsSocketOptions {
  const amqps = new URL(url).protocol === 'amqps:';
  if (tls && !amqps) {
    throw new Error('MessagingOptions.tls needs an amqps:// url: over amqp:// the connection would not be encrypted');
  }
  if (!amqps) return {};
  const { ca, cert, key, passphrase } = tls ?? {};
  return { ca, cert, key, passphrase, rejectUnauthorized: true };
}
