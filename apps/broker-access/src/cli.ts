import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { APP_NAMES, type AppName } from '@shop/contracts';
import { brokerPermissions, brokerUser, rabbitmqDefinitions, type RabbitmqDefinitions } from '@shop/messaging';
import { brokerSettings, loadSettings } from '@shop/platform';

export const MIN_PASSWORD_LENGTH = 16;

export const USAGE = `Usage: broker-access <command> [options]

Least-privilege RabbitMQ users for the four apps, generated from the contracts (README, Security).

Commands:
  definitions   write RabbitMQ definitions (vhost, users, permissions, topic permissions, exchanges)
                to standard output or --out, for load_definitions at boot or an import
  apply         import them into the broker of this machine with rabbitmqctl import_definitions
                (RABBITMQCTL names another command, RABBITMQ_NODENAME another node)
  permissions   print each app's permissions, without passwords

Options:
  --vhost NAME          the vhost (default: shop)
  --user-prefix PREFIX  users are named <PREFIX><app> (default: none: orders, inventory, ...)
  --admin NAME          also an administrator of the vhost (management UI), password RABBITMQ_ADMIN_PASSWORD
  --secrets-dir DIR     passwords kept in DIR/<user>/password: one set in the environment is written
                        there, a missing one is created at random (so compose needs none set)
  --out FILE            where definitions go (default: standard output)

Passwords come from the environment, never from the repository: ORDERS_RABBITMQ_PASSWORD,
INVENTORY_RABBITMQ_PASSWORD, PAYMENTS_RABBITMQ_PASSWORD, NOTIFICATIONS_RABBITMQ_PASSWORD, BRIDGE_RABBITMQ_PASSWORD (and
RABBITMQ_ADMIN_PASSWORD with --admin), each at least ${MIN_PASSWORD_LENGTH} characters. The event archive
(the shop.events stream) keeps ARCHIVE_MAX_BYTES (default 5GB) and ARCHIVE_MAX_AGE (default 30D).`;

/** A mistake of the caller's: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Io {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Imports definitions into the local broker; rabbitmqctl by default. */
  importDefinitions?: (json: string) => void;
}

/** The setting holding an app's (or the admin's) broker password. */
export function passwordSetting(app: AppName | 'admin'): string {
  return app === 'admin' ? 'RABBITMQ_ADMIN_PASSWORD' : `${app.toUpperCase()}_RABBITMQ_PASSWORD`;
}

export function runCli(argv: string[], io: Io): void {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      vhost: { type: 'string', default: 'shop' },
      'user-prefix': { type: 'string', default: '' },
      admin: { type: 'string' },
      'secrets-dir': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || command === undefined) return io.stdout(`${USAGE}\n`);
  if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const vhost = values.vhost;
  const prefix = values['user-prefix'];
  if (!/^[\w.-]{1,255}$/.test(vhost)) throw new UsageError(`--vhost: not a vhost name: ${vhost}`);
  if (!/^[\w.-]*$/.test(prefix)) throw new UsageError(`--user-prefix: letters, digits, "_", "." and "-" only`);

  if (command === 'permissions') {
    const all = APP_NAMES.map((app) => ({ app, vhost, ...brokerPermissions(app, undefined, prefix) }));
    return io.stdout(`${JSON.stringify(all, null, 2)}\n`);
  }
  if (command !== 'definitions' && command !== 'apply') throw new UsageError(`unknown command: ${command}`);

  const password = passwordSource(io.env, values['secrets-dir']);
  // the event archive's retention, validated as the apps validate it
  const { ARCHIVE_MAX_BYTES, ARCHIVE_MAX_AGE } = brokerSettings();
  const retention = loadSettings({ ARCHIVE_MAX_BYTES, ARCHIVE_MAX_AGE }, io.env);
  const definitions: RabbitmqDefinitions = rabbitmqDefinitions({
    vhost,
    userPrefix: prefix,
    passwords: Object.fromEntries(APP_NAMES.map((app) => [app, password(app, brokerUser(app, prefix))])) as Record<
      AppName,
      string
    >,
    admin: values.admin ? { name: values.admin, password: password('admin', values.admin) } : undefined,
    archive: { maxBytes: retention.ARCHIVE_MAX_BYTES, maxAge: retention.ARCHIVE_MAX_AGE },
  });
  const json = `${JSON.stringify(definitions, null, 2)}\n`;

  if (command === 'definitions') {
    if (!values.out) return io.stdout(json);
    mkdirSync(dirname(values.out), { recursive: true });
    // Salted hashes only; readable by the broker's own user, whatever its uid.
    writeFileSync(values.out, json, { mode: 0o644 });
    chmodSync(values.out, 0o644);
    return io.stderr(`wrote ${values.out}: vhost ${vhost}, users ${definitions.users.map((u) => u.name).join(', ')}\n`);
  }

  (io.importDefinitions ?? importWithRabbitmqctl)(json);
  io.stderr(
    `applied to vhost ${vhost}: users ${definitions.users.map((u) => u.name).join(', ')}\n` +
      `each app connects with RABBITMQ_URL=amqp://<user>:<its password>@<host>:5672/${encodeURIComponent(vhost)}\n`,
  );
}

/**
 * Where each password comes from: its variable, else (with a secrets directory) the file kept there,
 * else a new random one written there. Without a directory a missing variable is an error.
 */
function passwordSource(env: Io['env'], secretsDir: string | undefined) {
  return (app: AppName | 'admin', user: string): string => {
    const setting = passwordSetting(app);
    const file = secretsDir ? join(secretsDir, user, 'password') : undefined;
    const given = env[setting]?.trim();
    if (given !== undefined && given !== '') {
      if (given.length < MIN_PASSWORD_LENGTH) {
        throw new UsageError(`Invalid setting ${setting}: expected at least ${MIN_PASSWORD_LENGTH} characters`);
      }
      if (file) writeSecret(file, given);
      return given;
    }
    if (file && existsSync(file)) {
      const kept = readFileSync(file, 'utf8').trim();
      if (kept.length >= MIN_PASSWORD_LENGTH) return kept;
    }
    if (!file) throw new UsageError(`Invalid setting ${setting}: it is not set (or give --secrets-dir)`);
    const created = randomBytes(24).toString('base64url');
    writeSecret(file, created);
    return created;
  };
}

/** Only its owner may read it: the app that mounts the directory runs as the same user. */
function writeSecret(file: string, password: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function importWithRabbitmqctl(json: string): void {
  const command = process.env['RABBITMQCTL'] || 'rabbitmqctl';
  const node = process.env['RABBITMQ_NODENAME'];
  const args = [...(node ? ['-n', node] : []), '-q', 'import_definitions', '--format', 'json'];
  const result = spawnSync(command, args, { input: json, encoding: 'utf8' });
  if (result.error) throw new UsageError(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `${command} import_definitions failed (exit ${result.status}): ${(result.stderr || result.stdout).trim()}`,
    );
  }
}
