import Ajv from 'ajv';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

/**
 * Static checks of the deployment files against SPEC.md and the apps' settings: docker-compose.yml,
 * the Dockerfile and docker/postgres/create-databases.sql. Nothing is started.
 */

const ROOT = join(__dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** SPEC.md: the apps and their ports. */
const SPEC_PORTS = { orders: 3001, inventory: 3002, payments: 3003, notifications: 3004 } as const;
type App = keyof typeof SPEC_PORTS;
const APPS = Object.keys(SPEC_PORTS) as App[];

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

/** The settings an app reads, from its settings.ts and the platform's commonSettings. */
const SETTING = /^\s+([A-Z][A-Z0-9_]+):\s*setting\./gm;
const settingNames = (source: string) => [...source.matchAll(SETTING)].map((match) => match[1]);

const platformSettings = read('libs/platform/src/lib/settings.ts');
const commonSettingsBody = platformSettings.slice(platformSettings.indexOf('export function commonSettings'));
const COMMON_SETTINGS = settingNames(commonSettingsBody);

function appSettings(app: App): { names: string[]; defaultPort: number | undefined; database: string | undefined } {
  const source = read(`apps/${app}/src/app/settings.ts`);
  const common = /commonSettings\(\{\s*port:\s*(\d+),\s*database:\s*'([^']+)'\s*\}\)/.exec(source);
  return {
    names: [...(common ? COMMON_SETTINGS : []), ...settingNames(source)],
    defaultPort: common ? Number(common[1]) : undefined,
    database: common?.[2],
  };
}

describe('docker-compose.yml', () => {
  it('defines the broker, the database and the four apps', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['rabbitmq', 'postgres', ...APPS]));
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

  it('has a healthcheck and a restart policy on every service', () => {
    for (const [name, service] of Object.entries(services)) {
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

  it('starts a service only once what it depends on is healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependencies(service))) {
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: 'service_healthy' });
        expect(services[dependency]?.healthcheck).toBeDefined();
      }
    }
  });

  describe.each(APPS)('%s', (app) => {
    const service = services[app] ?? {};
    const env = environmentOf(service);
    const settings = appSettings(app);
    const port = SPEC_PORTS[app];

    it('reads settings the way SPEC.md says (sanity check of the parsed settings.ts)', () => {
      expect(settings.names).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'RABBITMQ_URL', 'LOG_LEVEL']));
      expect(settings.defaultPort).toBe(port);
      expect(settings.database).toBe(app);
    });

    it(`publishes port ${port}, the one it listens on`, () => {
      const listensOn = env['PORT'] ? Number(env['PORT']) : settings.defaultPort;
      expect(listensOn).toBe(port);
      expect(portMappings(service)).toEqual([{ published: port, target: port }]);
    });

    it('sets only settings the app reads', () => {
      const unknown = Object.keys(env).filter((name) => !settings.names.includes(name));
      expect(unknown).toEqual([]);
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

    it('uses the broker on the rabbitmq service', () => {
      const url = new URL(env['RABBITMQ_URL'] ?? '');
      expect(url.protocol).toMatch(/^amqps?:$/);
      expect(url.hostname).toBe('rabbitmq');
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
      expect(dependencies(service)).toEqual({ rabbitmq: 'service_healthy', postgres: 'service_healthy' });
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
