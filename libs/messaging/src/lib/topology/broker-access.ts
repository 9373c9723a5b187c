import { createHash, randomBytes } from 'node:crypto';
import {
  APP_NAMES,
  EVENTS,
  HTTP_BRIDGE,
  PRODUCER_NAMES,
  publisherOf,
  type AppName,
  type EventRegistry,
  type ProducerName,
} from '@shop/contracts';
import {
  ARCHIVE_READERS,
  ARCHIVE_STREAM,
  archiveArguments,
  archiveBindings,
  DEFAULT_ARCHIVE_RETENTION,
  type ArchiveRetention,
} from '../archive/archive';
import { Topology } from './topology';

/**
 * Least-privilege access to the broker, generated from the contracts (who produces and who consumes
 * each event) and the topology's naming (everything an app declares is named `<app>` or `<app>.…`).
 *
 * Each app connects as its own user, `<prefix><app>` (`orders`, or `staging-orders` with a prefix):
 *   configure  its own names only: its exchange, its queues, their delay, retry and dead-letter parts
 *   write      the same: it publishes to its own exchange (events) and to its own delay and dead-letter
 *              exchanges (retries, poison messages), and binds only its own queues
 *   read       its own queues, and the exchanges of the events it consumes (binding a queue to an
 *              exchange needs read on the exchange)
 *   topics     on its own exchange it may publish only the routing keys of the events it owns; on every
 *              exchange it reads, it may bind only the keys of the events it consumes (`#` when it
 *              consumes them all)
 * The bridge, which publishes for the HTTP producers (contracts: HTTP_PRODUCERS), also configures and
 * writes their exchanges, only their events' keys; and it reads every exchange with any binding key,
 * since its push subscriptions are made at run time.
 * RabbitMQ checks the AMQP `user-id` property of every publish against the connection's user, so a
 * consumer that knows the user of each event's owner knows whether an event is authentic.
 */
export interface BrokerPermissions {
  user: string;
  configure: string;
  write: string;
  read: string;
  topics: TopicPermission[];
}

export interface TopicPermission {
  exchange: string;
  /** Routing keys the user may publish to the exchange. */
  write: string;
  /** Binding keys the user may bind its queues with. */
  read: string;
}

/** The broker user of an app: its name, after a prefix common to all apps of one deployment. */
export function brokerUser(app: AppName, prefix = ''): string {
  return `${prefix}${app}`;
}

/**
 * The prefix of a deployment's users, read off one app's own user (`staging-orders` for orders is
 * `staging-`); undefined when the user is not one of the app's own (`guest`, a shared user).
 */
export function brokerUserPrefix(app: AppName, user: string): string | undefined {
  return user.endsWith(app) ? user.slice(0, user.length - app.length) : undefined;
}

export function brokerPermissions(app: AppName, registry: EventRegistry = EVENTS, prefix = ''): BrokerPermissions {
  const own = `${escape(Topology.exchange(app))}(\\..+)?`;
  // The exchanges it publishes to: its own, and for the bridge those of the HTTP producers.
  const published = PRODUCER_NAMES.filter((producer) => publisherOf(producer) === app);
  const publishedElsewhere = published.filter((producer) => producer !== app).map((p) => escape(Topology.exchange(p)));
  const consumed = registry.all.filter((event) => event.consumers.includes(app));
  // The bridge's push subscriptions are created at run time and may take any event: it reads every exchange.
  const readsAll = app === HTTP_BRIDGE;
  const sources = readsAll
    ? PRODUCER_NAMES.filter((producer) => !published.includes(producer))
    : [...new Set(consumed.map((event) => event.producer))].sort(byProducerOrder);
  const foreign = sources.filter((source) => !published.includes(source)).map((s) => escape(Topology.exchange(s)));
  const owned = (producer: ProducerName) => registry.ownedBy(producer).map((event) => event.type);

  const topics = [...new Set<ProducerName>([...published, ...sources])].sort(byProducerOrder).map((exchange) => {
    const keys = consumed.filter((event) => event.producer === exchange).map((event) => event.type);
    const all = owned(exchange).length > 0 && keys.length === owned(exchange).length;
    return {
      exchange: Topology.exchange(exchange),
      write: published.includes(exchange) ? anyOf(owned(exchange)) : NOTHING,
      read: readsAll ? '.*' : anyOf(all ? [...keys, '#'] : keys),
    };
  });
  // The archive's readers may consume the stream; nobody writes to it but the broker (its bindings).
  const archive = ARCHIVE_READERS.includes(app) ? [escape(ARCHIVE_STREAM)] : [];
  const writable = publishedElsewhere.length > 0 ? `^(${[own, ...publishedElsewhere].join('|')})$` : `^${own}$`;
  return {
    user: brokerUser(app, prefix),
    configure: writable,
    write: writable,
    read: `^(${[own, ...publishedElsewhere, ...foreign, ...archive].join('|')})$`,
    topics,
  };
}

/** RabbitMQ's definitions file format (the parts generated here). */
export interface RabbitmqDefinitions {
  users: Array<{ name: string; password_hash: string; hashing_algorithm: string; tags: string[] }>;
  vhosts: Array<{ name: string }>;
  permissions: Array<{ user: string; vhost: string; configure: string; write: string; read: string }>;
  topic_permissions: Array<{ user: string; vhost: string; exchange: string; write: string; read: string }>;
  exchanges: Array<{
    name: string;
    vhost: string;
    type: string;
    durable: boolean;
    auto_delete: boolean;
    internal: boolean;
    arguments: Record<string, never>;
  }>;
  queues: Array<{
    name: string;
    vhost: string;
    durable: boolean;
    auto_delete: boolean;
    arguments: Record<string, unknown>;
  }>;
  policies: Array<{
    vhost: string;
    name: string;
    pattern: string;
    'apply-to': 'queues';
    priority: number;
    definition: Record<string, unknown>;
  }>;
  bindings: Array<{
    source: string;
    vhost: string;
    destination: string;
    destination_type: 'queue';
    routing_key: string;
    arguments: Record<string, never>;
  }>;
}

export interface DefinitionsOptions {
  vhost: string;
  /** Each app's broker password. */
  passwords: Record<AppName, string>;
  /** Prefix of the apps' user names. */
  userPrefix?: string;
  /** An administrator of the vhost (management UI, operations), tagged `administrator`. */
  admin?: { name: string; password: string };
  registry?: EventRegistry;
  /** Retention of the event archive (ARCHIVE_MAX_BYTES, ARCHIVE_MAX_AGE). */
  archive?: ArchiveRetention;
}

/**
 * The definitions to import (at boot with `load_definitions`, or with `rabbitmqctl import_definitions`):
 * the vhost, one user per app with the permissions above, the apps' exchanges, so that a consumer
 * can bind to a producer's exchange before the producer ever started (it may not declare it itself),
 * and the event archive: the `shop.events` stream bound to every exchange, which no app may declare.
 * Passwords are stored salted and hashed, as RabbitMQ does.
 */
export function rabbitmqDefinitions(options: DefinitionsOptions): RabbitmqDefinitions {
  const { vhost, userPrefix = '', registry = EVENTS } = options;
  const access = APP_NAMES.map((app) => ({ app, ...brokerPermissions(app, registry, userPrefix) }));
  const users = access.map(({ app, user }) => userDefinition(user, options.passwords[app], []));
  const permissions = access.map(({ user, configure, write, read }) => ({ user, vhost, configure, write, read }));
  if (options.admin) {
    users.push(userDefinition(options.admin.name, options.admin.password, ['administrator']));
    permissions.push({ user: options.admin.name, vhost, configure: '.*', write: '.*', read: '.*' });
  }
  return {
    users,
    vhosts: [{ name: vhost }],
    permissions,
    topic_permissions: access.flatMap(({ user, topics }) => topics.map((topic) => ({ user, vhost, ...topic }))),
    exchanges: PRODUCER_NAMES.map((producer) => ({
      name: Topology.exchange(producer),
      vhost,
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    })),
    queues: [
      {
        name: ARCHIVE_STREAM,
        vhost,
        durable: true,
        auto_delete: false,
        arguments: archiveArguments(options.archive ?? DEFAULT_ARCHIVE_RETENTION),
      },
    ],
    // Dead letters are read (listed) by handing them back, which counts as a delivery: RabbitMQ 4
    // gives quorum queues a delivery limit of 20 by default, which would drop a dead letter after 20
    // listings. A limit no listing reaches, on both 3.10 (no default) and 4.x.
    policies: [
      {
        vhost,
        name: 'shop-dead-letter-queues',
        pattern: `^(${APP_NAMES.map((app) => escape(Topology.exchange(app))).join('|')})\\..+\\.dlq$`,
        'apply-to': 'queues',
        priority: 0,
        definition: { 'delivery-limit': 1_000_000_000 },
      },
    ],
    bindings: archiveBindings().map(({ exchange, routingKey }) => ({
      source: exchange,
      vhost,
      destination: ARCHIVE_STREAM,
      destination_type: 'queue' as const,
      routing_key: routingKey,
      arguments: {},
    })),
  };
}

/** RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt ++ sha256(salt ++ password)), 4-byte salt. */
export function rabbitmqPasswordHash(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

function userDefinition(name: string, password: string, tags: string[]) {
  if (!password) throw new Error(`no password for broker user ${name}`);
  return {
    name,
    password_hash: rabbitmqPasswordHash(password),
    hashing_algorithm: 'rabbit_password_hashing_sha256',
    tags,
  };
}

/** A regex matching exactly one of `values` (nothing when there are none). */
function anyOf(values: string[]): string {
  return values.length ? `^(${values.map(escape).join('|')})$` : NOTHING;
}

/** Only the empty key, which no event has (an empty pattern would match every key). */
const NOTHING = '^$';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function byProducerOrder(a: ProducerName, b: ProducerName): number {
  return PRODUCER_NAMES.indexOf(a) - PRODUCER_NAMES.indexOf(b);
}
