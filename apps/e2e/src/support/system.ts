import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  assertTestDatabaseName,
  createTestVhost,
  localRabbitmqInstalled,
  startLocalRabbitmqCluster,
  type LocalRabbitmqCluster,
} from '@shop/testing';
import { Client } from 'pg';
import {
  ALL_APPS,
  APPS,
  type AppName,
  type AppProcess,
  type ChildExit,
  builtApp,
  builtTool,
  freePort,
  spawnApp,
  stopProcess,
  waitUntilReady,
} from './app-process';
import { ShopClient } from './shop-client';

export type Env = Record<string, string | undefined>;

export interface SystemOptions {
  /** Part of the vhost's name, for whoever looks at the broker. */
  label?: string;
  /**
   * The PostgreSQL server of an app's database, as an admin URL (`.../postgres`): a test that stops
   * one app's database gives it a server of its own. `DATABASE_URL`'s server by default.
   */
  databaseServers?: Partial<Record<AppName, string>>;
  /** Processes per app (each on its own port): one number for all, or per app. 1 by default. */
  replicas?: number | Partial<Record<AppName, number>>;
  /** Environment of one app's processes, over the defaults (`undefined` removes a variable). */
  env?: Partial<Record<AppName, Env>>;
  /** How long a process may take to answer 200 on /health/ready; 90 s by default (2 cores). */
  readyTimeoutMs?: number;
  /**
   * `per-app` (the default): each app connects as a user of its own, with the least-privilege
   * permissions generated from the contracts (as deployed); `shared`: all as the vhost's admin (guest).
   */
  brokerUsers?: 'per-app' | 'shared';
  /**
   * Also a user tagged `impersonator` (`impersonatorUrl`), which may publish under any user-id: a test
   * that sends the apps' own events again, as their producers would (chaos's duplicate deliveries).
   */
  impersonator?: boolean;
  /** Also run the HTTP bridge (its env from `env.bridge`). */
  bridge?: boolean;
  /**
   * A private RabbitMQ cluster to run on instead of `RABBITMQ_URL`'s broker: every app is given all of
   * its nodes in its RABBITMQ_URL (comma-separated full URLs, its own user and the vhost in each), as a
   * clustered deployment names them. With `E2E_RABBITMQ_CLUSTER=3` in the environment every system
   * starts a cluster of its own of that size (and stops it with itself): any e2e suite on a cluster.
   */
  cluster?: LocalRabbitmqCluster;
}

export interface System {
  readonly vhost: string;
  /** The vhost as its administrator (guest): anything goes, for tests that look behind the scenes. */
  readonly brokerUrl: string;
  /** `brokerUrl` on each node of the cluster (`cluster`), or `[brokerUrl]` on one node. */
  readonly brokerUrls: readonly string[];
  /**
   * The vhost as the broker user `app` connects as (the admin's URL with `brokerUsers: 'shared'`), on the
   * first node (the app itself is given every node of `cluster`).
   */
  brokerUrlOf(app: AppName): string;
  /** With `impersonator: true`: the vhost as a user that may set any user-id. */
  readonly impersonatorUrl?: string;
  /** `impersonatorUrl` on each node of the cluster (as `brokerUrls`). */
  readonly impersonatorUrls?: readonly string[];
  /** Each app's database (`test_e2e_<random>_<app>`), created by the app itself. */
  readonly databases: Readonly<Partial<Record<AppName, string>>>;
  /** A client that spreads its requests over the running replicas of each app. */
  readonly client: ShopClient;
  /** The base URL of one replica, running or not (`http://127.0.0.1:<port>`). */
  url(app: AppName, replica?: number): string;
  /** The base URL of a running replica of `app`, round robin; throws when none runs. */
  baseUrl(app: AppName): string;
  replicaCount(app: AppName): number;
  running(app: AppName, replica?: number): boolean;
  /** SIGTERM to one replica (or all of the app's), resolving once it has exited. */
  stopApp(app: AppName, replica?: number): Promise<void>;
  /** Starts a stopped replica (or all stopped ones) on its port again and waits until it is ready. */
  startApp(app: AppName, options?: { replica?: number; env?: Env }): Promise<void>;
  /** Sends `signal` (SIGKILL by default) to one replica and resolves once it has exited. */
  kill(app: AppName, replica?: number, signal?: NodeJS.Signals): Promise<ChildExit>;
  /** What a replica printed so far. */
  output(app: AppName, replica?: number): string;
  /** The processes running now (benchmarks read their CPU time). */
  processes(): AppProcess[];
  /** SIGTERM to every process, then deletes the vhost and drops the databases. */
  stop(): Promise<void>;
}

interface Slot {
  app: AppName;
  replica: number;
  port: number;
  process?: AppProcess;
}

const DEFAULT_READY_TIMEOUT_MS = 90_000;

/**
 * A whole system for one test file: a fresh vhost, a fresh database name per app, free ports, and
 * the four built apps as real processes, each ready (GET /health/ready is 200) when this resolves.
 * On failure everything already started is stopped and removed again, and the error carries the tail
 * of the failing app's output.
 */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const apps: readonly AppName[] = options.bridge ? ALL_APPS : APPS;
  for (const app of apps) builtApp(app); // fail at once, naming the build command
  if ((options.brokerUsers ?? 'per-app') === 'per-app') builtTool('broker-access');
  const sharedAdminUrl = requiredEnv('DATABASE_URL');
  if (!options.cluster) requiredEnv('RABBITMQ_URL');
  const adminUrlOf = (app: AppName) => options.databaseServers?.[app] ?? sharedAdminUrl;

  const suffix = randomBytes(4).toString('hex');
  const databases = Object.fromEntries(apps.map((app) => [app, `test_e2e_${suffix}_${app}`])) as Record<
    AppName,
    string
  >;
  for (const name of Object.values(databases)) assertTestDatabaseName(name);

  const ownCluster = options.cluster ? undefined : await clusterFromEnv(options.label);
  const cluster = options.cluster ?? ownCluster;
  const brokerNodes = cluster?.nodes.map((node) => node.url);
  const broker = await createTestVhost(
    `e2e ${options.label ?? 'system'}`,
    cluster ? { brokerUrl: cluster.nodes[0].url, admin: cluster.admin() } : {},
  ).catch(async (error: unknown) => {
    await ownCluster?.stop();
    throw error;
  });
  const brokerUrls = Object.fromEntries(ALL_APPS.map((app) => [app, broker.url])) as Record<AppName, string>;
  if ((options.brokerUsers ?? 'per-app') === 'per-app') {
    // As deployed: the definitions come from the broker-access tool (README, Security).
    // Every app's user exists (the definitions are the whole deployment's), whichever apps run.
    const passwords = Object.fromEntries(ALL_APPS.map((app) => [app, randomBytes(16).toString('hex')])) as Record<
      AppName,
      string
    >;
    const userPrefix = `${broker.vhost}-`;
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [builtTool('broker-access'), 'definitions', '--vhost', broker.vhost, '--user-prefix', userPrefix],
        {
          env: Object.fromEntries(ALL_APPS.map((app) => [`${app.toUpperCase()}_RABBITMQ_PASSWORD`, passwords[app]])),
        },
      );
      await broker.addUsers(JSON.parse(stdout));
    } catch (error) {
      await broker.delete().catch(() => undefined);
      throw error;
    }
    for (const app of ALL_APPS) brokerUrls[app] = broker.urlAs(`${userPrefix}${app}`, passwords[app]);
  }
  let impersonatorUrl: string | undefined;
  if (options.impersonator) {
    const name = `${broker.vhost}-impersonator`;
    const password = randomBytes(16).toString('hex');
    const salt = randomBytes(4);
    // RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)).
    const hash = createHash('sha256')
      .update(Buffer.concat([salt, Buffer.from(password)]))
      .digest();
    const definitions = {
      users: [
        {
          name,
          password_hash: Buffer.concat([salt, hash]).toString('base64'),
          hashing_algorithm: 'rabbit_password_hashing_sha256',
          tags: ['impersonator'],
        },
      ],
      permissions: [{ user: name, vhost: broker.vhost, configure: '.*', write: '.*', read: '.*' }],
    };
    await broker.addUsers(definitions);
    impersonatorUrl = broker.urlAs(name, password);
  }
  /** `url` (user, password, vhost) on each node of `brokerNodes`: the same URL with the node's host and port. */
  const onEveryNode = (url: string): string[] =>
    (brokerNodes ?? [url]).map((node) => {
      const onNode = new URL(url);
      const { hostname, port } = new URL(node);
      onNode.hostname = hostname;
      onNode.port = port;
      return onNode.toString();
    });
  const slots: Slot[] = [];
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const debug = process.env['DEBUG_CHILDREN'] === '1';

  const envOf = (app: AppName, port: number, extra: Env = {}): Record<string, string> => {
    const databaseUrl = new URL(adminUrlOf(app));
    databaseUrl.pathname = `/${databases[app]}`;
    const merged: Env = {
      ...process.env,
      LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? (debug ? 'log' : 'warn'),
      // plain text: the output is read in error messages and prefixed line by line
      NO_COLOR: '1',
      FORCE_COLOR: undefined,
      // Every request of a test comes from one address: its load and polling are not a client to throttle
      // (http-security.e2e-spec.ts sets a limit of its own).
      RATE_LIMIT_MAX: '0',
      ...options.env?.[app],
      ...extra,
      PORT: String(port),
      DATABASE_URL: databaseUrl.toString(),
      RABBITMQ_URL: onEveryNode(brokerUrls[app]).join(','),
    };
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(merged)) if (value !== undefined) env[key] = value;
    return env;
  };

  const launch = async (slot: Slot, extra?: Env): Promise<void> => {
    if (slot.process?.running()) return;
    slot.process = spawnApp(slot.app, {
      port: slot.port,
      name: `${slot.app}#${slot.replica}`,
      env: envOf(slot.app, slot.port, extra),
    });
    await waitUntilReady(slot.process, readyTimeoutMs);
  };

  let stopped = false;
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(slots.map((slot) => (slot.process ? stopProcess(slot.process) : undefined)));
    const servers = new Map<string, string[]>();
    for (const app of apps) servers.set(adminUrlOf(app), [...(servers.get(adminUrlOf(app)) ?? []), databases[app]]);
    const results = await Promise.allSettled([
      broker.delete().finally(() => ownCluster?.stop()),
      ...[...servers].map(([adminUrl, names]) => dropDatabases(adminUrl, names)),
    ]);
    const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed.length) {
      throw new Error(
        `Could not clean up the e2e system: ${failed.map((f) => (f.reason as Error).message).join('; ')}`,
      );
    }
  };

  try {
    for (const app of apps) {
      const count = replicasOf(options.replicas, app);
      for (let replica = 0; replica < count; replica++) slots.push({ app, replica, port: await freePort() });
    }
    // The first process of each app creates its database and runs its migrations; the other
    // replicas join once it is ready, as in a rolling start.
    await Promise.all(slots.filter((slot) => slot.replica === 0).map((slot) => launch(slot)));
    await Promise.all(slots.filter((slot) => slot.replica > 0).map((slot) => launch(slot)));
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }

  const slotsOf = (app: AppName) => slots.filter((slot) => slot.app === app);
  const slot = (app: AppName, replica = 0): Slot => {
    const found = slots.find((s) => s.app === app && s.replica === replica);
    if (!found) throw new Error(`${app} has no replica #${replica} (${slotsOf(app).length} started)`);
    return found;
  };
  const selected = (app: AppName, replica?: number) => (replica === undefined ? slotsOf(app) : [slot(app, replica)]);
  const nextReplica = new Map<AppName, number>();

  const system: System = {
    vhost: broker.vhost,
    brokerUrl: broker.url,
    brokerUrls: onEveryNode(broker.url),
    brokerUrlOf: (app) => brokerUrls[app],
    impersonatorUrl,
    impersonatorUrls: impersonatorUrl === undefined ? undefined : onEveryNode(impersonatorUrl),
    databases,
    client: new ShopClient((app) => system.baseUrl(app)),
    url: (app, replica = 0) => `http://127.0.0.1:${slot(app, replica).port}`,
    baseUrl: (app) => {
      const running = slotsOf(app).filter((s) => s.process?.running());
      if (!running.length) throw new Error(`no ${app} process is running`);
      const next = nextReplica.get(app) ?? 0;
      nextReplica.set(app, next + 1);
      return `http://127.0.0.1:${running[next % running.length].port}`;
    },
    replicaCount: (app) => slotsOf(app).length,
    running: (app, replica = 0) => !!slot(app, replica).process?.running(),
    stopApp: async (app, replica) => {
      await Promise.all(selected(app, replica).map((s) => (s.process ? stopProcess(s.process) : undefined)));
    },
    startApp: async (app, startOptions = {}) => {
      await Promise.all(selected(app, startOptions.replica).map((s) => launch(s, startOptions.env)));
    },
    kill: async (app, replica = 0, signal = 'SIGKILL') => {
      const target = slot(app, replica).process;
      if (!target) throw new Error(`${app}#${replica} was never started`);
      return target.kill(signal);
    },
    output: (app, replica = 0) => slot(app, replica).process?.output() ?? '',
    processes: () => slots.flatMap((s) => (s.process?.running() ? [s.process] : [])),
    stop: stopAll,
  };
  return system;
}

function replicasOf(replicas: SystemOptions['replicas'], app: AppName): number {
  const count = typeof replicas === 'number' ? replicas : (replicas?.[app] ?? 1);
  if (!Number.isInteger(count) || count < 1) throw new Error(`replicas of ${app} must be a positive integer`);
  return count;
}

/**
 * Drops the apps' databases. An app stopped while it was creating its database leaves the server
 * finishing a CREATE DATABASE after the process is gone: wait for such statements first, so that no
 * database appears after the drop.
 */
async function dropDatabases(adminUrl: string, names: string[]): Promise<void> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE pid <> pg_backend_pid() AND state <> 'idle' AND query ILIKE '%create database%'
            AND query LIKE ANY($1::text[])`,
        [names.map((name) => `%${name}%`)],
      );
      if (Number(rows[0].n) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const name of names) {
      assertTestDatabaseName(name);
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the e2e suites through Jest (its global setup starts the services) or export ${name}`,
    );
  }
  return value;
}

/**
 * `E2E_RABBITMQ_CLUSTER=<nodes>`: a private cluster of this machine's rabbitmq-server for one system
 * (`npx nx test e2e` with it runs the saga suites on a cluster); unset or 0: none.
 */
async function clusterFromEnv(label = 'system'): Promise<LocalRabbitmqCluster | undefined> {
  const raw = process.env['E2E_RABBITMQ_CLUSTER'];
  if (!raw || raw === '0') return undefined;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1) throw new Error(`E2E_RABBITMQ_CLUSTER: a number of nodes, not ${raw}`);
  if (!localRabbitmqInstalled()) {
    throw new Error('E2E_RABBITMQ_CLUSTER needs rabbitmq-server on this machine (private cluster nodes)');
  }
  return startLocalRabbitmqCluster(size, { label: `e2e-${label}`.slice(0, 20) });
}
