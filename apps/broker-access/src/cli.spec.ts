import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_NAMES } from '@shop/contracts';
import type { RabbitmqDefinitions } from '@shop/messaging';
import { passwordSetting, runCli, UsageError, type Io } from './cli';

const PASSWORDS = Object.fromEntries(APP_NAMES.map((app) => [passwordSetting(app), `${app}-password-0123456789`]));

function run(argv: string[], env: Io['env'] = PASSWORDS) {
  const out: string[] = [];
  const err: string[] = [];
  const imported: string[] = [];
  runCli(argv, {
    env,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    importDefinitions: (json) => imported.push(json),
  });
  return { stdout: out.join(''), stderr: err.join(''), imported };
}

describe('broker-access', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'broker-access-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes definitions for the vhost with one user per app, from the passwords in the environment', () => {
    const definitions = JSON.parse(run(['definitions', '--vhost', 'staging', '--user-prefix', 'stg-']).stdout);
    expect(definitions.vhosts).toEqual([{ name: 'staging' }]);
    expect(definitions.users.map((u: { name: string }) => u.name)).toEqual(APP_NAMES.map((app) => `stg-${app}`));
    expect(JSON.stringify(definitions)).not.toMatch(/password-0123456789/);
  });

  it('names the missing password setting, and refuses a short one', () => {
    const { PAYMENTS_RABBITMQ_PASSWORD: _omitted, ...rest } = PASSWORDS;
    expect(() => run(['definitions'], rest)).toThrow(
      new UsageError('Invalid setting PAYMENTS_RABBITMQ_PASSWORD: it is not set (or give --secrets-dir)'),
    );
    expect(() => run(['definitions'], { ...PASSWORDS, ORDERS_RABBITMQ_PASSWORD: 'short' })).toThrow(
      /Invalid setting ORDERS_RABBITMQ_PASSWORD: expected at least 16 characters/,
    );
  });

  it('with --secrets-dir, creates the missing passwords once (owner-only files) and keeps them', () => {
    const out = join(dir, 'admin', 'definitions.json');
    run(['definitions', '--secrets-dir', dir, '--admin', 'admin', '--out', out], {});
    const first = APP_NAMES.map((app) => readFileSync(join(dir, app, 'password'), 'utf8'));
    expect(new Set(first).size).toBe(APP_NAMES.length);
    for (const app of APP_NAMES) expect(statSync(join(dir, app, 'password')).mode & 0o777).toBe(0o600);
    expect(statSync(out).mode & 0o777).toBe(0o644);
    const definitions: RabbitmqDefinitions = JSON.parse(readFileSync(out, 'utf8'));
    expect(definitions.users.map((u) => u.name)).toEqual([...APP_NAMES, 'admin']);
    expect(readFileSync(join(dir, 'admin', 'password'), 'utf8').trim().length).toBeGreaterThanOrEqual(16);

    run(['definitions', '--secrets-dir', dir, '--admin', 'admin', '--out', out], {});
    expect(APP_NAMES.map((app) => readFileSync(join(dir, app, 'password'), 'utf8'))).toEqual(first);
  });

  it('with --secrets-dir, a password set in the environment wins and is kept for the app', () => {
    mkdirSync(join(dir, 'orders'));
    writeFileSync(join(dir, 'orders', 'password'), 'an-old-password-of-orders\n');
    run(['definitions', '--secrets-dir', dir], { ORDERS_RABBITMQ_PASSWORD: 'a-new-password-for-orders' });
    expect(readFileSync(join(dir, 'orders', 'password'), 'utf8')).toBe('a-new-password-for-orders\n');
  });

  it('apply imports the same definitions', () => {
    const { imported, stderr } = run(['apply', '--vhost', 'shop']);
    expect(JSON.parse(imported[0]).permissions).toHaveLength(APP_NAMES.length);
    expect(stderr).toMatch(/applied to vhost shop: users orders, inventory, payments, notifications/);
  });

  it('prints the permissions without any password', () => {
    const printed = run(['permissions'], {}).stdout;
    expect(JSON.parse(printed).map((p: { user: string }) => p.user)).toEqual([...APP_NAMES]);
  });

  it('refuses an unknown command, an odd vhost or prefix, and prints its usage when asked', () => {
    expect(() => run(['grant'])).toThrow(/unknown command: grant/);
    expect(() => run(['definitions', '--vhost', 'a b'])).toThrow(/--vhost/);
    expect(() => run(['definitions', '--user-prefix', 'x;y'])).toThrow(/--user-prefix/);
    expect(run(['--help']).stdout).toMatch(/^Usage: broker-access/);
  });
});
