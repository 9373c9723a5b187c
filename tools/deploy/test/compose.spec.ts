import Ajv from 'ajv';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

/**
 * Static checks of the deployment files against SPEC.md and the apps' settings: docker-compose.yml,
 * the Dockerfile, docker/postgres/create-databases.sql, and the observability stack (Jaeger, Prometheus's
 * docker/prometheus/prometheus.yml, Grafana's docker/grafana/). Nothing is started.
 *
 * The observability checks are functions that return the problems they find; each is run on the real
 * files (no problem) and on broken copies (the problem is found), so that none of them passes vacuously.
 */

const ROOT = join(__dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** SPEC.md: the apps and their ports. */
const SPEC_PORTS = { orders: 3001, inventory: 3002, payments: 3003, notifications: 3004, bridge: 3005 } as const;
type App = keyof typeof SPEC_PORTS;
const APPS = Object.keys(SPEC_PORTS) as App[];

/**
 * The OpenTelemetry SDK's standard variables (OpenTelemetry's "SDK environment variables" specification)
 * that the compose file sets. The SDK reads them, not the apps' zod settings; a name missing from this
 * list (a typo such as OTEL_EXPORTER_OTLP_ENDPIONT, or one the SDK ignores) fails the settings check.
 */
const OTEL_VARIABLES = [
  'OTEL_SERVICE_NAME',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_TRACES_EXPORTER',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_RESOURCE_ATTRIBUTES',
];
const OTEL_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
/** Jaeger v2 (all-in-one): OTLP over HTTP on 4318 (and gRPC on 4317), the UI on 16686. */
const JAEGER = { image: /^jaegertracing\/jaeger:2\.\d+\.\d+$/, otlpHttpPort: 4318, uiPort: 16686 };
/** The port of RabbitMQ's rabbitmq_prometheus plugin (enabled in the official image). */
const RABBITMQ_PROMETHEUS_PORT = 15692;
const SCRAPE_INTERVAL = '5s';

/**
 * The apps' Prometheus metrics and their labels (besides `job` and `instance`, which Prometheus adds):
 * what the Grafana dashboard may query. Histograms are queried as <name>_bucket, _count and _sum.
 */
const APP_METRICS: Record<string, { labels: string[]; histogram?: true }> = {
  http_request_duration_seconds: { labels: ['app', 'method', 'route', 'status_code'], histogram: true },
  orders_by_status: { labels: ['status'] },
  inventory_stock_available: { labels: ['sku'] },
  inventory_stock_reserved: { labels: ['sku'] },
  messaging_published_total: { labels: ['exchange', 'event_type'] },
  messaging_publish_confirmed_total: { labels: ['exchange', 'event_type'] },
  messaging_consumed_total: { labels: ['queue', 'event_type'] },
  messaging_retried_total: { labels: ['queue', 'event_type'] },
  messaging_dead_lettered_total: { labels: ['queue', 'event_type', 'reason'] },
  messaging_inbox_duplicates_total: { labels: ['queue', 'event_type'] },
  messaging_handler_duration_seconds: { labels: ['queue', 'event_type', 'outcome'], histogram: true },
  messaging_outbox_backlog: { labels: [] },
  messaging_outbox_oldest_age_seconds: { labels: [] },
  messaging_connection_up: { labels: [] },
  http_admission_refused_total: { labels: ['signal'] },
  http_admission_waiting: { labels: [] },
  messaging_group_commit_size: { labels: ['outcome'], histogram: true },
};
/** RabbitMQ's own metrics (rabbitmq_*), per object: the labels the dashboard may use on them. */
const RABBITMQ_METRIC = /^rabbitmq_[a-z0-9_]+$/;
const RABBITMQ_LABELS = ['vhost', 'queue'];
const PROMETHEUS_LABELS = ['job', 'instance'];

type Environment = Record<string, string>;
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Environment | string[];
  ports?: (string | number | { target?: number | string; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
  hostname?: string;
  profiles?: string[];
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const COMPOSE_TEXT = read('docker-compose.yml');
// `merge`: the apps share their common keys through a YAML anchor and `<<:`, as Compose reads it.
const compose = parse(COMPOSE_TEXT, { merge: true }) as ComposeFile;
const services = compose.services ?? {};

/** `${NAME:-default}` and `${NAME-default}` give their default, `${NAME}` nothing: the file's own values. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g,
    (_match, _name, fallback?: string) => fallback ?? '',
  );
}

function environmentOf(service: Service): Environment {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const index = entry.indexOf('=');
        return index < 0 ? [entry, ''] : [entry.slice(0, index), interpolate(entry.slice(index + 1))];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, value === null ? '' : interpolate(String(value))]),
  );
}

/** `"3001:3001"`, `"127.0.0.1:3001:3001/tcp"` or the long syntax, as {published, target}. */
function portMappings(service: Service): { published: number; target: number }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: Number(port.published), target: Number(port.target) };
    const parts = interpolate(String(port))
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts[parts.length - 1]);
    return { published: parts.length > 1 ? Number(parts[parts.length - 2]) : Number.NaN, target };
  });
}

function dependencies(service: Service): Record<string, string | undefined> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((name) => [name, undefined]));
  return Object.fromEntries(Object.entries(dependsOn).map(([name, value]) => [name, value?.condition]));
}

/** The bind mounts (`./host:/in/container`) of a service, sources relative to the compose file. */
function bindMounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).flatMap((volume) => {
    const [source, target] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    return source && target && /^\.{1,2}\//.test(source) ? [{ source, target }] : [];
  });
}

/** The file on this machine that a path inside a service's container is, through its bind mounts. */
function hostPathOf(service: Service, containerPath: string): string | undefined {
  const mount = bindMounts(service)
    .filter(({ target }) => containerPath === target || containerPath.startsWith(`${target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return mount && join(ROOT, mount.source, containerPath.slice(mount.target.length));
}

/** The environment variables an app's service sets that are neither its settings nor standard OTEL_* ones. */
function unknownVariables(env: Environment, settings: string[]): string[] {
  return Object.keys(env).filter((name) => !settings.includes(name) && !OTEL_VARIABLES.includes(name));
}

/** Host ports published twice, or an app's port (SPEC.md) published by another service. */
function portProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const owner = new Map<number, string>();
  for (const [name, service] of Object.entries(file.services ?? {})) {
    for (const { published } of portMappings(service)) {
      const first = owner.get(published);
      if (first) problems.push(`host port ${published} is published by ${first} and ${name}`);
      else owner.set(published, name);
      const app = APPS.find((candidate) => SPEC_PORTS[candidate] === published);
      if (app && app !== name) problems.push(`${name} publishes ${published}, the port of ${app} (SPEC.md)`);
    }
  }
  return problems;
}

/** The settings an app reads, from its settings.ts and the platform's commonSettings. */
const SETTING = /^\s+([A-Z][A-Z0-9_]+):\s/gm;
const settingNames = (source: string) => [...source.matchAll(SETTING)].map((match) => match[1]);

/** The body of `export function <name>(` in a source file, up to the next top-level `}`. */
function functionBody(source: string, name: string): string {
  const start = source.indexOf(`export function ${name}(`);
  if (start < 0) return '';
  const end = source.indexOf('\n}\n', start);
  return source.slice(start, end < 0 ? undefined : end);
}

/** commonSettings' own keys (every ALL_CAPS key), and those of the platform functions it spreads (`...brokerSettings()`). */
function commonSettingNames(): string[] {
  const dir = join(ROOT, 'libs/platform/src/lib');
  const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
    .map((file) => readFileSync(join(dir, file), 'utf8'));
  const keys = (body: string) => [...body.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1] as string);
  const common = sources.map((source) => functionBody(source, 'commonSettings')).find(Boolean) ?? '';
  const spread = [...common.matchAll(/\.\.\.(\w+)\(\)/g)].map((match) => match[1] as string);
  return [
    ...keys(common),
    ...spread.flatMap((name) => keys(sources.map((source) => functionBody(source, name)).find(Boolean) ?? '')),
  ];
}
const COMMON_SETTINGS = commonSettingNames();

function appSettings(app: App): { names: string[]; defaultPort: number | undefined; database: string | undefined } {
  const source = read(`apps/${app}/src/config/${app}.settings.ts`);
  const common = /commonSettings\(\{\s*port:\s*(\d+),\s*database:\s*'([^']+)'\s*\}\)/.exec(source);
  return {
    names: [...(common ? COMMON_SETTINGS : []), ...settingNames(source)],
    defaultPort: common ? Number(common[1]) : undefined,
    database: common?.[2],
  };
}

/** Services that run once to completion (restart "no", no healthcheck): broker-access writes the broker's users. */
const ONE_SHOT = ['broker-access'];

describe('docker-compose.yml', () => {
  it('defines the broker, the database, the five apps, and Jaeger, Prometheus and Grafana', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['rabbitmq', 'postgres', ...APPS, 'jaeger', 'prometheus', 'grafana']),
    );
  });

  it('runs three RabbitMQ nodes with the cluster profile, joined by one cookie and peer discovery of each other', () => {
    const nodes = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];
    const cookies = nodes.map((name) => environmentOf(services[name] ?? {})['RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS']);
    expect(new Set(cookies).size).toBe(1);
    expect(cookies[0]).toMatch(/-setcookie \S+/);
    const clusterConf = read('docker/rabbitmq/cluster.conf');
    expect(clusterConf).toMatch(/^cluster_formation\.peer_discovery_backend = classic_config$/m);
    for (const [i, name] of nodes.entries()) {
      expect(services[name]?.hostname).toBe(name);
      expect(clusterConf).toContain(`cluster_formation.classic_config.nodes.${i + 1} = rabbit@${name}`);
    }
    for (const name of nodes.slice(1)) {
      expect(services[name]?.profiles).toEqual(['cluster']);
      expect(services[name]?.image).toBe(services['rabbitmq']?.image);
      expect(JSON.stringify(services[name]?.volumes)).toContain('cluster.conf');
    }
  });

  it("gives every RabbitMQ node the deployment's advanced.config, and quorum queues three replicas by themselves", () => {
    const advanced = read('docker/rabbitmq/advanced.config');
    // a dead-letter hop that failed during an election is tried again after 10 s, not the default 3 min
    expect(advanced).toMatch(/\{dead_letter_worker_publisher_confirm_timeout, 10000\}/);
    for (const name of ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3']) {
      expect(JSON.stringify(services[name]?.volumes)).toContain(
        './docker/rabbitmq/advanced.config:/etc/rabbitmq/advanced.config',
      );
    }
    const conf = read('docker/rabbitmq/shop.conf');
    expect(conf).toMatch(/^quorum_queue\.continuous_membership_reconciliation\.enabled = true$/m);
    expect(conf).toMatch(/^quorum_queue\.continuous_membership_reconciliation\.target_group_size = 3$/m);
    // the consistent-hash exchange of ordered handlers, beside the image's own plugins
    expect(read('docker/rabbitmq/enabled_plugins')).toMatch(
      /^\[(?=.*rabbitmq_consistent_hash_exchange)(?=.*rabbitmq_management)(?=.*rabbitmq_prometheus)[a-z_,]+\]\.\s*$/,
    );
  });

  it('runs RabbitMQ 4 with the management UI and PostgreSQL 17', () => {
    expect(services['rabbitmq']?.image).toMatch(/^rabbitmq:4[.\d]*-management/);
    expect(portMappings(services['rabbitmq'] ?? {})).toEqual(
      expect.arrayContaining([
        { published: 5672, target: 5672 },
        { published: 15672, target: 15672 },
      ]),
    );
    expect(services['postgres']?.image).toMatch(/^postgres:17/);
  });

  it('keeps the broker and the database data in named volumes', () => {
    const named = Object.keys(compose.volumes ?? {});
    const volumeOf = (service: string, target: string) =>
      (services[service]?.volumes ?? [])
        .map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]))
        .find(([, mountedAt]) => mountedAt === target)?.[0];
    expect(named).toContain(volumeOf('rabbitmq', '/var/lib/rabbitmq'));
    expect(named).toContain(volumeOf('postgres', '/var/lib/postgresql/data'));
  });

  it('has a healthcheck and a restart policy on every long-running service', () => {
    for (const [name, service] of Object.entries(services)) {
      if (ONE_SHOT.includes(name)) continue;
      expect({ name, healthcheck: Boolean(service.healthcheck?.test) && !service.healthcheck?.disable }).toEqual({
        name,
        healthcheck: true,
      });
      expect({ name, restart: service.restart }).toEqual({
        name,
        restart: expect.stringMatching(/^(always|unless-stopped|on-failure)/),
      });
    }
  });

  it('starts a service only once what it depends on is healthy (Jaeger only started: tracing is best effort; a one-shot task completed)', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependencies(service))) {
        const expected =
          dependency === 'jaeger'
            ? 'service_started'
            : ONE_SHOT.includes(dependency)
              ? 'service_completed_successfully'
              : 'service_healthy';
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: expected });
        if (!ONE_SHOT.includes(dependency)) expect(services[dependency]?.healthcheck).toBeDefined();
      }
    }
  });

  it('publishes each host port once, and the apps ports (SPEC.md) only for the apps', () => {
    expect(portProblems(compose)).toEqual([]);
  });

  it('finds a port published twice, and an app port taken by another service (Grafana on 3001)', () => {
    const broken = structuredClone(compose);
    broken.services['grafana'] = { ...broken.services['grafana'], ports: ['3001:3000'] };
    expect(portProblems(broken)).toEqual([
      'host port 3001 is published by orders and grafana',
      'grafana publishes 3001, the port of orders (SPEC.md)',
    ]);
  });

  describe.each(APPS)('%s', (app) => {
    const service = services[app] ?? {};
    const env = environmentOf(service);
    const settings = appSettings(app);
    const port = SPEC_PORTS[app];

    it('reads settings the way SPEC.md says (sanity check of the parsed settings.ts)', () => {
      expect(settings.names).toEqual(
        expect.arrayContaining(['PORT', 'DATABASE_URL', 'RABBITMQ_URL', 'RABBITMQ_PASSWORD_FILE', 'LOG_LEVEL']),
      );
      expect(settings.defaultPort).toBe(port);
      expect(settings.database).toBe(app);
    });

    it(`publishes port ${port}, the one it listens on`, () => {
      const listensOn = env['PORT'] ? Number(env['PORT']) : settings.defaultPort;
      expect(listensOn).toBe(port);
      expect(portMappings(service)).toEqual([{ published: port, target: port }]);
    });

    it('sets only settings the app reads, and standard OpenTelemetry variables (read by the SDK)', () => {
      expect(unknownVariables(env, settings.names)).toEqual([]);
    });

    it('uses its own database on the postgres service', () => {
      const url = new URL(env['DATABASE_URL'] ?? '');
      expect(url.protocol).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname).toBe('postgres');
      expect(['', '5432']).toContain(url.port);
      expect(url.pathname).toBe(`/${app}`);
      const postgresEnv = environmentOf(services['postgres'] ?? {});
      expect(decodeURIComponent(url.username)).toBe(postgresEnv['POSTGRES_USER'] ?? 'postgres');
      expect(decodeURIComponent(url.password)).toBe(postgresEnv['POSTGRES_PASSWORD']);
    });

    it("uses the broker on the rabbitmq service, and the cluster profile's nodes when they run", () => {
      const url = new URL(env['RABBITMQ_URL'] ?? '');
      expect(url.protocol).toMatch(/^amqps?:$/);
      // amqp://user@rabbitmq,rabbitmq-2,rabbitmq-3:5672/shop: the nodes share the port, user and vhost
      const hosts = url.hostname.split(',');
      expect(hosts[0]).toBe('rabbitmq');
      for (const host of hosts.slice(1)) expect(services[host]?.profiles ?? []).toEqual(['cluster']);
      expect(['', '5672']).toContain(url.port);
    });

    it('runs its own main.js from the image the Dockerfile builds', () => {
      const command = ([] as string[]).concat(service.command ?? []).join(' ');
      expect(command).toContain(`dist/apps/${app}/main.js`);
      expect(service.build).toBeDefined();
    });

    it('is healthy when its /health/ready answers, and waits for a healthy broker and database', () => {
      const test = ([] as string[]).concat(service.healthcheck?.test ?? []).join(' ');
      expect(test).toContain(`127.0.0.1:${port}/health/ready`);
      expect(dependencies(service)).toEqual({
        rabbitmq: 'service_healthy',
        postgres: 'service_healthy',
        jaeger: 'service_started',
      });
    });
  });

  it('matches the Compose Specification (the JSON schema shipped with dclint)', () => {
    const schemaFile = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
    // Its $schema is draft-07 under an https URI that Ajv does not know by that name: Ajv's default is draft-07.
    delete schema['$schema'];
    const validate = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
    const valid = validate(compose);
    expect(valid ? [] : validate.errors?.map((error) => `${error.instancePath || '/'} ${error.message}`)).toEqual([]);
  });

  const composeV2 = run('docker', ['compose', 'version', '--short']);
  const standalone = run('docker-compose', ['version', '--short']);

  (composeV2.status === 0 ? it : it.skip)(
    'docker compose config -q accepts it (when docker compose v2 is installed)',
    () => {
      const result = run('docker', ['compose', '-f', 'docker-compose.yml', 'config', '-q']);
      expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
    },
  );

  (standalone.status === 0 ? it : it.skip)(
    'docker-compose config -q accepts it (when docker-compose is installed; v1 gets it without the top-level name, which it predates)',
    () => {
      const v1 = standalone.stdout.trim().startsWith('1.');
      const result = v1
        ? run(
            'docker-compose',
            ['-f', '-', '--project-directory', ROOT, 'config', '-q'],
            withoutProjectName(COMPOSE_TEXT),
          )
        : run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q']);
      expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// Broker access: no guest, one least-privilege user per app, passwords only in volumes (README, Security).
// ---------------------------------------------------------------------------------------------------

/** A named volume's mounts: the volume mounted at `target` in `service`, if any. */
function namedVolumeAt(file: ComposeFile, service: Service, target: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    const [source, at] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    if (at === target && source && Object.keys(file.volumes ?? {}).includes(source)) return source;
  }
  return undefined;
}

/** Where a path inside a service's container lies on a named volume: [volume, path inside it]. */
function onNamedVolume(file: ComposeFile, service: Service, path: string): [string, string] | undefined {
  for (const volume of service.volumes ?? []) {
    const [source, at] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    if (!source || !at || !Object.keys(file.volumes ?? {}).includes(source)) continue;
    if (path.startsWith(`${at.replace(/\/$/, '')}/`)) return [source, path.slice(at.replace(/\/$/, '').length + 1)];
  }
  return undefined;
}

function option(command: string[], name: string): string | undefined {
  const index = command.indexOf(name);
  return index >= 0 ? command[index + 1] : undefined;
}

function brokerAccessProblems(file: ComposeFile, conf: string): string[] {
  const all = file.services ?? {};
  const problems: string[] = [];
  const setup = all['broker-access'];
  if (!setup) return ['no broker-access service writes the broker users'];
  const command = ([] as string[]).concat(setup.command ?? []);
  if (!command.join(' ').includes('dist/apps/broker-access/main.js definitions')) {
    problems.push('broker-access does not run `dist/apps/broker-access/main.js definitions`');
  }
  const vhost = option(command, '--vhost') ?? 'shop';
  const secretsDir = option(command, '--secrets-dir');
  const out = option(command, '--out');
  if (!secretsDir) problems.push('broker-access has no --secrets-dir: the apps could not read their passwords');
  if (setup.restart !== 'no') problems.push(`broker-access restarts (${setup.restart}): it runs once`);

  const rabbitmq = all['rabbitmq'] ?? {};
  if (dependencies(rabbitmq)['broker-access'] !== 'service_completed_successfully') {
    problems.push('rabbitmq does not wait for broker-access to complete');
  }
  const env = environmentOf(rabbitmq);
  for (const name of ['RABBITMQ_DEFAULT_USER', 'RABBITMQ_DEFAULT_PASS']) {
    if (env[name]) problems.push(`rabbitmq sets ${name}: a default user beside the generated ones`);
  }
  if (/^\s*loopback_users\.guest\s*=\s*false/m.test(conf)) problems.push('shop.conf lets guest log in remotely');
  const loaded = /^\s*load_definitions\s*=\s*(\S+)/m.exec(conf)?.[1];
  const written = out ? onNamedVolume(file, setup, out) : undefined;
  const read = loaded ? onNamedVolume(file, rabbitmq, loaded) : undefined;
  if (!loaded) problems.push('shop.conf loads no definitions (the broker would create guest)');
  else if (!written || !read || written.join('/') !== read.join('/')) {
    problems.push(`rabbitmq loads ${loaded}, which is not the file broker-access writes (${out ?? 'stdout'})`);
  }

  const secretVolume = (user: string) => (secretsDir ? namedVolumeAt(file, setup, `${secretsDir}/${user}`) : undefined);
  for (const app of APPS) {
    const service = all[app] ?? {};
    const appEnv = environmentOf(service);
    let url: URL | undefined;
    try {
      url = new URL(appEnv['RABBITMQ_URL'] ?? '');
    } catch {
      problems.push(`${app}: RABBITMQ_URL is not a URL`);
      continue;
    }
    if (decodeURIComponent(url.username) !== app) problems.push(`${app} connects as "${url.username}", not as ${app}`);
    if (url.password) problems.push(`${app}: RABBITMQ_URL holds a password`);
    if (decodeURIComponent(url.pathname.slice(1)) !== vhost)
      problems.push(`${app} uses vhost ${url.pathname}, not ${vhost}`);
    const passwordFile = appEnv['RABBITMQ_PASSWORD_FILE'];
    const on = passwordFile ? onNamedVolume(file, service, passwordFile) : undefined;
    if (!on || on[0] !== secretVolume(app) || on[1] !== 'password') {
      problems.push(`${app}: RABBITMQ_PASSWORD_FILE is not the password broker-access keeps for it`);
    }
    const others = [...APPS.filter((other) => other !== app), 'admin'].map(secretVolume);
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
      if (source && others.includes(source)) problems.push(`${app} mounts ${source}, another user's password`);
    }
  }
  for (const [name, service] of Object.entries(all)) {
    for (const [variable, value] of Object.entries(service.environment ?? {})) {
      if (/PASSWORD$/.test(variable) && /RABBITMQ/.test(variable) && !/^\$\{[A-Z0-9_]+:?-?\}$/.test(String(value))) {
        problems.push(`${name} sets ${variable} in the repository`);
      }
    }
  }
  return problems;
}

describe('the operations console in docker-compose.yml', () => {
  const service = services['console'] ?? {};
  const env = environmentOf(service);
  const names = settingNames(read('apps/console/src/config/console.settings.ts'));

  it('runs dist/apps/console/main.js from the image, published on 3006 (SPEC.md), ready on /health/ready', () => {
    expect(([] as string[]).concat(service.command ?? []).join(' ')).toContain('dist/apps/console/main.js');
    expect(service.build).toBeDefined();
    expect(portMappings(service)).toEqual([{ published: 3006, target: 3006 }]);
    expect(env['PORT'] ?? '3006').toBe('3006');
    expect(JSON.stringify(service.healthcheck?.test)).toContain('127.0.0.1:3006/health/ready');
  });

  it('reads every app through its service and SPEC.md port, and needs no broker or database', () => {
    for (const app of APPS) {
      expect(env[`${app.toUpperCase()}_URL`]).toBe(`http://${app}:${SPEC_PORTS[app]}`);
    }
    expect(Object.keys(env).filter((name) => /^(DATABASE|RABBITMQ)_/.test(name))).toEqual([]);
    expect(Object.keys(dependencies(service))).not.toEqual(expect.arrayContaining(['rabbitmq']));
    expect(unknownVariables(env, names)).toEqual([]);
  });
});

describe('broker access in docker-compose.yml', () => {
  it('has no guest: broker-access writes the users, the broker loads them, each app logs in as itself with its own password', () => {
    expect(brokerAccessProblems(compose, rabbitmqConf)).toEqual([]);
  });

  it("finds guest, a password in the repository, another app's password mounted, and definitions not loaded", () => {
    const broken = structuredClone(compose);
    const orders = broken.services['orders'] as Service;
    orders.environment = {
      ...(orders.environment as Environment),
      RABBITMQ_URL: 'amqp://guest:guest@rabbitmq:5672/shop',
    };
    const payments = broken.services['payments'] as Service;
    payments.volumes = [...(payments.volumes ?? []), 'broker-orders:/run/secrets/orders:ro'];
    const setup = broken.services['broker-access'] as Service;
    setup.environment = { ...(setup.environment as Environment), ORDERS_RABBITMQ_PASSWORD: 'hunter2hunter2hunter2' };
    const conf = rabbitmqConf
      .replace(/^load_definitions.*$/m, '')
      .replace('loopback_users.guest = true', 'loopback_users.guest = false');
    expect(brokerAccessProblems(broken, conf)).toEqual([
      'shop.conf lets guest log in remotely',
      'shop.conf loads no definitions (the broker would create guest)',
      'orders connects as "guest", not as orders',
      'orders: RABBITMQ_URL holds a password',
      "payments mounts broker-orders, another user's password",
      'broker-access sets ORDERS_RABBITMQ_PASSWORD in the repository',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Observability: Jaeger, Prometheus, Grafana. Each check returns its problems, one line each.
// ---------------------------------------------------------------------------------------------------

/** Every app exports its traces with OTLP over HTTP to the Jaeger service of the file, and starts without it. */
function tracingProblems(file: ComposeFile): string[] {
  const all = file.services ?? {};
  const problems: string[] = [];
  const collectors = Object.keys(all).filter((name) => JAEGER.image.test(all[name]?.image ?? ''));
  if (collectors.length !== 1) return [`one Jaeger v2 service expected, found ${JSON.stringify(collectors)}`];
  const collector = collectors[0] as string;
  const targets = portMappings(all[collector] ?? {}).map(({ target }) => target);
  for (const port of [JAEGER.uiPort, JAEGER.otlpHttpPort]) {
    if (!targets.includes(port)) problems.push(`${collector} does not publish port ${port}`);
  }
  for (const app of APPS) {
    const service = all[app] ?? {};
    const env = environmentOf(service);
    if (env['OTEL_SERVICE_NAME'] !== app) problems.push(`${app}: OTEL_SERVICE_NAME is not "${app}"`);
    if (env['OTEL_TRACES_EXPORTER'] !== 'otlp') problems.push(`${app}: OTEL_TRACES_EXPORTER is not "otlp"`);
    const protocol = env['OTEL_EXPORTER_OTLP_PROTOCOL'] || 'http/protobuf';
    if (protocol !== 'http/protobuf') problems.push(`${app}: OTEL_EXPORTER_OTLP_PROTOCOL is ${protocol}`);
    const sampler = env['OTEL_TRACES_SAMPLER'];
    if (sampler && !OTEL_SAMPLERS.includes(sampler)) problems.push(`${app}: unknown OTEL_TRACES_SAMPLER ${sampler}`);
    const attributes = env['OTEL_RESOURCE_ATTRIBUTES'];
    if (attributes && !/^[\w.-]+=[^,=]+(,[\w.-]+=[^,=]+)*$/.test(attributes)) {
      problems.push(`${app}: OTEL_RESOURCE_ATTRIBUTES is not key=value,...: ${attributes}`);
    }
    let endpoint: URL | undefined;
    try {
      endpoint = new URL(env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '');
    } catch {
      problems.push(`${app}: OTEL_EXPORTER_OTLP_ENDPOINT is not a URL`);
    }
    if (endpoint) {
      const where = `${endpoint.protocol}//${endpoint.host}${endpoint.pathname}`;
      const expected = `http://${collector}:${JAEGER.otlpHttpPort}/`;
      if (where !== expected) problems.push(`${app}: OTEL_EXPORTER_OTLP_ENDPOINT is ${where}, not ${expected}`);
    }
    const condition = dependencies(service)[collector];
    if (condition && condition !== 'service_started') {
      problems.push(`${app} waits for ${collector} to be ${condition}: tracing must not keep an app from starting`);
    }
  }
  return problems;
}

interface ScrapeConfig {
  job_name?: string;
  metrics_path?: string;
  scheme?: string;
  scrape_interval?: string;
  static_configs?: { targets?: string[] }[];
}
interface PrometheusConfig {
  global?: { scrape_interval?: string };
  scrape_configs?: ScrapeConfig[];
}

/**
 * Prometheus scrapes exactly the four apps (job = app name, at the port SPEC.md gives it) and RabbitMQ's
 * plugin, every 5 s; RabbitMQ serves per-queue metrics; the prometheus service reads this very file.
 */
function scrapeProblems(config: PrometheusConfig, file: ComposeFile, rabbitmqConf: string): string[] {
  const all = file.services ?? {};
  const problems: string[] = [];
  const expected: Record<string, string[]> = {
    ...Object.fromEntries(APPS.map((app) => [app, [`${app}:${SPEC_PORTS[app]}`]])),
    rabbitmq: [`rabbitmq:${RABBITMQ_PROMETHEUS_PORT}`],
  };
  const jobs = config.scrape_configs ?? [];
  const names = jobs.map((job) => job.job_name ?? '?');
  for (const name of Object.keys(expected)) {
    if (!names.includes(name)) problems.push(`no scrape job ${name}`);
  }
  for (const job of jobs) {
    const name = job.job_name ?? '?';
    const targets = (job.static_configs ?? []).flatMap((group) => group.targets ?? []);
    if (!expected[name]) problems.push(`unexpected scrape job ${name} (${targets.join(', ')})`);
    else if (JSON.stringify(targets) !== JSON.stringify(expected[name])) {
      problems.push(`job ${name} scrapes ${JSON.stringify(targets)}, not ${JSON.stringify(expected[name])}`);
    }
    for (const target of targets) {
      const host = target.split(':')[0] ?? '';
      if (!all[host]) problems.push(`job ${name} scrapes ${target}, and there is no service ${host}`);
    }
    if ((job.metrics_path ?? '/metrics') !== '/metrics') problems.push(`job ${name} scrapes ${job.metrics_path}`);
    if ((job.scheme ?? 'http') !== 'http') problems.push(`job ${name} scrapes over ${job.scheme}`);
    const interval = job.scrape_interval ?? config.global?.scrape_interval ?? '1m';
    if (interval !== SCRAPE_INTERVAL) problems.push(`job ${name} scrapes every ${interval}, not ${SCRAPE_INTERVAL}`);
  }
  if (!/^\s*prometheus\.return_per_object_metrics\s*=\s*true\s*$/m.test(rabbitmqConf)) {
    problems.push(
      'docker/rabbitmq/shop.conf does not set prometheus.return_per_object_metrics = true (per-queue metrics)',
    );
  }
  const mounted = hostPathOf(all['prometheus'] ?? {}, '/etc/prometheus/prometheus.yml');
  if (mounted !== join(ROOT, 'docker/prometheus/prometheus.yml')) {
    problems.push(
      `the prometheus service reads ${mounted ?? 'its image default'}, not docker/prometheus/prometheus.yml`,
    );
  }
  return problems;
}

interface GrafanaDatasource {
  name?: string;
  uid?: string;
  type?: string;
  url?: string;
}
interface GrafanaProvider {
  name?: string;
  type?: string;
  options?: { path?: string };
}
interface GrafanaProvisioning {
  datasources: GrafanaDatasource[];
  providers: GrafanaProvider[];
}

/** Grafana's provisioning files as the grafana service mounts them (datasources/ and dashboards/ YAML). */
function grafanaProvisioning(file: ComposeFile): GrafanaProvisioning {
  const grafana = file.services?.['grafana'] ?? {};
  const yamlFiles = (dir: string) => {
    const host = hostPathOf(grafana, dir);
    if (!host || !existsSync(host)) return [];
    return readdirSync(host)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => parse(readFileSync(join(host, name), 'utf8')) as Record<string, unknown>);
  };
  return {
    datasources: yamlFiles('/etc/grafana/provisioning/datasources').flatMap(
      (content) => (content['datasources'] ?? []) as GrafanaDatasource[],
    ),
    providers: yamlFiles('/etc/grafana/provisioning/dashboards').flatMap(
      (content) => (content['providers'] ?? []) as GrafanaProvider[],
    ),
  };
}

/**
 * Every bind mount's source exists; Grafana's Prometheus data source is the prometheus service; every
 * dashboard provider and the home dashboard point at files that the grafana service mounts and that exist.
 */
function provisioningProblems(file: ComposeFile, provisioning: GrafanaProvisioning): string[] {
  const all = file.services ?? {};
  const problems: string[] = [];
  for (const [name, service] of Object.entries(all)) {
    for (const { source } of bindMounts(service)) {
      if (!existsSync(join(ROOT, source))) problems.push(`${name} mounts ${source}, which does not exist`);
    }
  }
  const grafana = all['grafana'] ?? {};
  const prometheus = provisioning.datasources.filter((source) => source.type === 'prometheus');
  if (prometheus.length === 0) problems.push('no Prometheus data source is provisioned');
  for (const source of prometheus) {
    const url = new URL(source.url ?? 'invalid:');
    const listensOn = portMappings(all[url.hostname] ?? {}).map(({ target }) => target);
    if (!all[url.hostname] || !listensOn.includes(Number(url.port || 80))) {
      problems.push(`data source ${source.name} reads ${source.url}, which is no service's published port`);
    }
    if (!source.uid) problems.push(`data source ${source.name} has no uid (the dashboards refer to it by uid)`);
  }
  if (provisioning.providers.length === 0) problems.push('no dashboard provider is provisioned');
  for (const provider of provisioning.providers) {
    const path = provider.options?.path ?? '';
    const host = hostPathOf(grafana, path);
    if (!host || !existsSync(host) || !statSync(host).isDirectory()) {
      problems.push(`dashboard provider ${provider.name} reads ${path}, which the grafana service does not mount`);
    } else if (!readdirSync(host).some((name) => name.endsWith('.json'))) {
      problems.push(`dashboard provider ${provider.name} reads ${path}, which holds no dashboard`);
    }
  }
  const home = environmentOf(grafana)['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'];
  if (home) {
    const host = hostPathOf(grafana, home);
    if (!host || !existsSync(host)) problems.push(`the home dashboard ${home} is not a mounted file`);
  }
  return problems;
}

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords or labels. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Numbers and durations (`offset 5m`, `@ 1700000000`).
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?(ms|[smhdwy])*\b/gi, ' ');
  const keywords = [
    ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset'],
    ...['and', 'or', 'unless', 'inf', 'nan'],
  ];
  return [...bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)]
    .filter((match) => !match[2] && !keywords.includes((match[1] ?? '').toLowerCase()))
    .map((match) => match[1] ?? '');
}

/** The label names a PromQL expression uses: in matchers and in by/without/on/ignoring lists. */
function labelNames(expr: string): string[] {
  const matchers = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((braces) =>
    [...(braces[1] ?? '').matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((match) => match[1] ?? ''),
  );
  const lists = [...expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)].flatMap(
    (list) => (list[1] ?? '').split(',').map((name) => name.trim()),
  );
  return [...matchers, ...lists].filter(Boolean);
}

/** The app metric (histogram family) a name is, or undefined. */
function appMetric(name: string): string | undefined {
  if (APP_METRICS[name] && !APP_METRICS[name].histogram) return name;
  const family = name.replace(/_(bucket|count|sum)$/, '');
  return family !== name && APP_METRICS[family]?.histogram ? family : undefined;
}

interface Panel {
  type?: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
}

/**
 * The "Shop saga" dashboard queries only the apps' metrics above (with their labels) and RabbitMQ's,
 * each of the apps' metrics at least once, from a provisioned data source.
 */
function dashboardProblems(dashboard: Dashboard, datasourceUids: string[]): string[] {
  const problems: string[] = [];
  if (dashboard.title !== 'Shop saga') problems.push(`the dashboard is titled ${JSON.stringify(dashboard.title)}`);
  const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const queried = new Set<string>();
  for (const panel of panels.filter((candidate) => candidate.type !== 'row')) {
    const title = panel.title ?? '?';
    if (!panel.targets?.length) problems.push(`panel "${title}" queries nothing`);
    for (const target of panel.targets ?? []) {
      const uid = target.datasource?.uid ?? panel.datasource?.uid;
      if (!uid || !datasourceUids.includes(uid)) problems.push(`panel "${title}" reads data source ${uid}`);
      const expr = target.expr ?? '';
      const names = metricNames(expr);
      if (names.length === 0) problems.push(`panel "${title}" queries no metric: ${expr}`);
      const allowed = new Set(PROMETHEUS_LABELS);
      for (const name of names) {
        const metric = appMetric(name);
        if (metric) {
          queried.add(metric);
          APP_METRICS[metric]?.labels.forEach((label) => allowed.add(label));
          if (name.endsWith('_bucket')) allowed.add('le');
        } else if (RABBITMQ_METRIC.test(name)) {
          RABBITMQ_LABELS.forEach((label) => allowed.add(label));
        } else {
          problems.push(`panel "${title}" queries ${name}, which is neither an app metric nor RabbitMQ's`);
        }
      }
      for (const label of labelNames(expr).filter((name) => !allowed.has(name))) {
        problems.push(`panel "${title}" uses label ${label}, which ${names.join(', ')} do not have`);
      }
    }
  }
  for (const metric of Object.keys(APP_METRICS).filter((name) => !queried.has(name))) {
    problems.push(`no panel shows ${metric}`);
  }
  return problems;
}

const prometheusConfig = parse(read('docker/prometheus/prometheus.yml')) as PrometheusConfig;
const rabbitmqConf = read('docker/rabbitmq/shop.conf');
const provisioning = grafanaProvisioning(compose);
const DASHBOARD_FILE = 'docker/grafana/dashboards/shop-saga.json';
const dashboard = JSON.parse(read(DASHBOARD_FILE)) as Dashboard;
const datasourceUids = provisioning.datasources.map((source) => source.uid ?? '');

describe('observability: tracing to Jaeger', () => {
  it('runs Jaeger v2 (all-in-one, pinned) with its UI and OTLP ports, healthy when its health check answers', () => {
    const jaeger = services['jaeger'] ?? {};
    expect(jaeger.image).toMatch(JAEGER.image);
    expect(portMappings(jaeger)).toEqual(
      expect.arrayContaining([
        { published: JAEGER.uiPort, target: JAEGER.uiPort },
        { published: JAEGER.otlpHttpPort, target: JAEGER.otlpHttpPort },
      ]),
    );
    expect(([] as string[]).concat(jaeger.healthcheck?.test ?? []).join(' ')).toContain(':13133/status');
  });

  it('has every app export OTLP/HTTP to the Jaeger service, named after the app, and start without it', () => {
    expect(tracingProblems(compose)).toEqual([]);
  });

  it('finds an app that exports to a service the file does not have', () => {
    const broken = structuredClone(compose);
    (broken.services['orders']?.environment as Environment)['OTEL_EXPORTER_OTLP_ENDPOINT'] =
      'http://otel-collector:4318';
    expect(tracingProblems(broken)).toEqual([
      'orders: OTEL_EXPORTER_OTLP_ENDPOINT is http://otel-collector:4318/, not http://jaeger:4318/',
    ]);
  });

  it('finds an app that sends OTLP/HTTP to the gRPC port, or has no service name', () => {
    const broken = structuredClone(compose);
    const env = broken.services['payments']?.environment as Environment;
    env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://jaeger:4317';
    delete env['OTEL_SERVICE_NAME'];
    expect(tracingProblems(broken)).toEqual([
      'payments: OTEL_SERVICE_NAME is not "payments"',
      'payments: OTEL_EXPORTER_OTLP_ENDPOINT is http://jaeger:4317/, not http://jaeger:4318/',
    ]);
  });

  it('finds an app that waits for Jaeger to be healthy', () => {
    const broken = structuredClone(compose);
    (broken.services['inventory']?.depends_on as Record<string, { condition?: string }>)['jaeger'] = {
      condition: 'service_healthy',
    };
    expect(tracingProblems(broken)).toEqual([
      'inventory waits for jaeger to be service_healthy: tracing must not keep an app from starting',
    ]);
  });

  it('finds an OTEL_* variable that is not a standard one the compose file means to set', () => {
    const env = { ...environmentOf(services['orders'] ?? {}), OTEL_EXPORTER_OTLP_ENDPIONT: 'http://jaeger:4318' };
    expect(unknownVariables(env, appSettings('orders').names)).toEqual(['OTEL_EXPORTER_OTLP_ENDPIONT']);
  });
});

describe('observability: docker/prometheus/prometheus.yml', () => {
  it('runs Prometheus 3 with its data in a named volume, healthy when /-/healthy answers', () => {
    const prometheus = services['prometheus'] ?? {};
    expect(prometheus.image).toMatch(/^prom\/prometheus:v3(\.\d+){0,2}$/);
    expect(Object.keys(compose.volumes ?? {})).toContain(
      (prometheus.volumes ?? []).map((volume) => String(volume).split(':')).find(([, at]) => at === '/prometheus')?.[0],
    );
    expect(([] as string[]).concat(prometheus.healthcheck?.test ?? []).join(' ')).toContain(':9090/-/healthy');
  });

  it('scrapes exactly the four apps at their SPEC.md ports (job = app) and RabbitMQ, every 5 s', () => {
    expect(scrapeProblems(prometheusConfig, compose, rabbitmqConf)).toEqual([]);
  });

  it('finds an app scraped at the wrong port, a missing app and a job too many', () => {
    const broken = structuredClone(prometheusConfig);
    const jobs = broken.scrape_configs ?? [];
    const inventory = jobs.find((job) => job.job_name === 'inventory');
    if (inventory) inventory.static_configs = [{ targets: ['inventory:3003'] }];
    broken.scrape_configs = [
      ...jobs.filter((job) => job.job_name !== 'notifications'),
      { job_name: 'postgres', static_configs: [{ targets: ['postgres:9187'] }] },
    ];
    expect(scrapeProblems(broken, compose, rabbitmqConf)).toEqual([
      'no scrape job notifications',
      'job inventory scrapes ["inventory:3003"], not ["inventory:3002"]',
      'unexpected scrape job postgres (postgres:9187)',
    ]);
  });

  it('finds a slower scrape and a broker without per-queue metrics', () => {
    const broken = structuredClone(prometheusConfig);
    broken.global = { ...broken.global, scrape_interval: '15s' };
    const conf = rabbitmqConf.replace(/^prometheus\.return_per_object_metrics.*$/m, '');
    const problems = scrapeProblems(broken, compose, conf);
    expect(problems).toContain('job orders scrapes every 15s, not 5s');
    expect(problems).toContain(
      'docker/rabbitmq/shop.conf does not set prometheus.return_per_object_metrics = true (per-queue metrics)',
    );
  });
});

describe('observability: Grafana (docker/grafana)', () => {
  it('runs Grafana (pinned) with anonymous viewers, its data in a named volume, healthy when /api/health answers', () => {
    const grafana = services['grafana'] ?? {};
    const env = environmentOf(grafana);
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(env).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: 'true', GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer' });
    expect(env['GF_SECURITY_ADMIN_PASSWORD']).toBeTruthy();
    expect(Object.keys(compose.volumes ?? {})).toContain(
      (grafana.volumes ?? [])
        .map((volume) => String(volume).split(':'))
        .find(([, at]) => at === '/var/lib/grafana')?.[0],
    );
    expect(([] as string[]).concat(grafana.healthcheck?.test ?? []).join(' ')).toContain(':3000/api/health');
  });

  it('provisions the prometheus service as data source and dashboards from files that exist', () => {
    expect(provisioningProblems(compose, provisioning)).toEqual([]);
    expect(
      provisioning.providers.map((provider) => hostPathOf(services['grafana'] ?? {}, provider.options?.path ?? '')),
    ).toEqual([dirname(join(ROOT, DASHBOARD_FILE))]);
  });

  it('finds a provider of a folder that is not mounted, a wrong data source URL and a missing mount', () => {
    const broken = structuredClone(provisioning);
    const [provider] = broken.providers;
    if (provider) provider.options = { path: '/var/lib/grafana/dashboards' };
    const [source] = broken.datasources;
    if (source) source.url = 'http://prometheus:9091';
    const file = structuredClone(compose);
    file.services['prometheus']?.volumes?.push('./docker/prometheus/rules.yml:/etc/prometheus/rules.yml:ro');
    expect(provisioningProblems(file, broken)).toEqual([
      'prometheus mounts ./docker/prometheus/rules.yml, which does not exist',
      "data source Prometheus reads http://prometheus:9091, which is no service's published port",
      'dashboard provider shop reads /var/lib/grafana/dashboards, which the grafana service does not mount',
    ]);
  });

  it(`queries in ${DASHBOARD_FILE} only the apps' metrics (with their labels) and RabbitMQ's, and each app metric`, () => {
    expect(dashboardProblems(dashboard, datasourceUids)).toEqual([]);
  });

  it('reads metric and label names out of PromQL (sanity check of the parser the dashboard check uses)', () => {
    const expr =
      'histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{status_code=~"5.."}[$__rate_interval]))) / on (job) group_left max by (job) (up offset 1m) or vector(0)';
    expect(metricNames(expr)).toEqual(['http_request_duration_seconds_bucket', 'up']);
    expect(labelNames(expr)).toEqual(['status_code', 'job', 'le', 'job', 'job']);
  });

  it('finds a misspelt metric, a label the metric does not have, a missing metric and an unknown data source', () => {
    const broken = structuredClone(dashboard);
    const panels = (broken.panels ?? []).filter((panel) => panel.type !== 'row');
    const [first, second] = panels;
    if (first?.targets?.[0]) first.targets[0].expr = 'sum by (status) (rate(http_request_duration_seconds_count[1m]))';
    if (second?.targets?.[0]) second.targets[0].expr = 'sum(rate(messaging_publish_total[1m]))';
    broken.panels = (broken.panels ?? []).filter((panel) => !/outbox oldest/i.test(panel.title ?? ''));
    const [source] = datasourceUids;
    expect(dashboardProblems(broken, ['not-' + source])).toEqual(
      expect.arrayContaining([
        `panel "${first?.title}" uses label status, which http_request_duration_seconds_count do not have`,
        `panel "${second?.title}" queries messaging_publish_total, which is neither an app metric nor RabbitMQ's`,
        `panel "${first?.title}" reads data source ${source}`,
        'no panel shows messaging_outbox_oldest_age_seconds',
      ]),
    );
  });
});

describe('docker/postgres/create-databases.sql', () => {
  it('creates exactly the four apps databases', () => {
    const sql = read('docker/postgres/create-databases.sql').replace(/--.*$/gm, '');
    const created = [...sql.matchAll(/create\s+database\s+"?([A-Za-z0-9_]+)"?/gi)].map((match) => match[1]);
    expect([...created].sort()).toEqual([...APPS].sort());
  });

  it('is run by the postgres service at its first start', () => {
    const mounts = (services['postgres']?.volumes ?? []).map((volume) =>
      typeof volume === 'string' ? volume : `${volume.source}:${volume.target}`,
    );
    expect(mounts).toContainEqual(
      expect.stringMatching(/^\.\/docker\/postgres\/create-databases\.sql:\/docker-entrypoint-initdb\.d\//),
    );
  });
});

describe('Dockerfile', () => {
  const stages = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'))
    .reduce<string[][]>((all, line) => {
      if (/^FROM\s/i.test(line)) all.push([]);
      all[all.length - 1]?.push(line.trim());
      return all;
    }, []);
  const runtime = stages[stages.length - 1] ?? [];
  const instructions = (stage: string[], name: string) =>
    stage.filter((line) => line.toUpperCase().startsWith(`${name} `)).map((line) => line.slice(name.length + 1).trim());

  it('runs the apps as a non-root user in its last (runtime) stage', () => {
    const users = instructions(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
  });

  it('runs in production mode, with the production dependencies only', () => {
    expect(instructions(runtime, 'ENV').join(' ')).toMatch(/NODE_ENV[= ]production/);
    const copies = instructions(runtime, 'COPY').join('\n');
    const nodeModulesFrom = /--from=(\S+)\s+\S*node_modules/.exec(copies)?.[1];
    const source = stages.find((stage) =>
      new RegExp(`^FROM\\s.+\\sAS\\s+${nodeModulesFrom}$`, 'i').test(stage[0] ?? ''),
    );
    expect(instructions(source ?? [], 'RUN').join(' ')).toMatch(/npm ci\b.*--omit=dev/);
  });

  it('builds every app the compose file runs from it, exposes its port and makes its secrets mount point', () => {
    const built = instructions(stages.find((stage) => /\sAS\s+build$/i.test(stage[0] ?? '')) ?? [], 'RUN').join(' ');
    const ran = Object.values(services)
      .filter((service) => service.build !== undefined)
      .map(
        (service) =>
          /dist\/apps\/([\w-]+)\/main\.js/.exec(([] as string[]).concat(service.command ?? []).join(' '))?.[1],
      )
      .filter((app): app is string => !!app);
    expect(ran).toEqual(expect.arrayContaining([...APPS, 'broker-access']));
    const projects = /nx run-many -t build -p ([\w -]+?) --/.exec(built)?.[1].split(/\s+/) ?? [];
    expect(projects).toEqual(expect.arrayContaining(ran));
    const exposed = instructions(runtime, 'EXPOSE').join(' ').split(/\s+/).map(Number);
    expect(exposed).toEqual(expect.arrayContaining(APPS.map((app) => SPEC_PORTS[app])));
    const mountPoints = instructions(runtime, 'RUN').join(' ');
    for (const app of APPS) expect(mountPoints).toContain(`/secrets/${app}`);
  });

  it('defaults to an app that the compose file can replace with `command:`', () => {
    expect(instructions(runtime, 'CMD').join(' ')).toMatch(
      /dist\/apps\/(orders|inventory|payments|notifications)\/main\.js/,
    );
  });
});

function run(command: string, args: string[], input?: string) {
  const result = spawnSync(command, args, { cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });
  return { status: result.error ? null : result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Compose v1 (1.29) rejects the top-level `name:` that Compose v2 reads. */
function withoutProjectName(text: string): string {
  return text.replace(/^name:.*$/m, '');
}
