import { randomBytes } from 'node:crypto';

/** PostgreSQL truncates identifiers longer than 63 bytes, so a longer name would not be the one we asked for. */
export const MAX_DATABASE_NAME_LENGTH = 63;
/** RabbitMQ accepts longer vhost names; the same bound keeps them readable in `rabbitmqctl list_vhosts`. */
export const MAX_VHOST_NAME_LENGTH = 63;

export const TEST_DATABASE_PREFIX = 'test_';
export const TEST_VHOST_PREFIX = 'test-';

const RANDOM_SUFFIX_LENGTH = 8;

/** Eight lowercase hex characters: enough that parallel test files never pick the same name. */
export function randomSuffix(): string {
  return randomBytes(RANDOM_SUFFIX_LENGTH / 2).toString('hex');
}

/**
 * Lowercases a free-form label ("Orders: outbox relay") and keeps only `[a-z0-9]`, joining the rest
 * with `separator` ("orders_outbox_relay"), cut to `maxLength` characters.
 */
export function sanitizeLabel(label: string, separator: '_' | '-', maxLength: number): string {
  const cleaned = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, separator)
    .slice(0, maxLength)
    .replace(/^[-_]+|[-_]+$/g, '');
  return cleaned === '' ? 'unnamed' : cleaned;
}

/** `test_<label>_<random>`, a valid unquoted PostgreSQL identifier of at most 63 characters. */
export function testDatabaseName(label: string, suffix: string = randomSuffix()): string {
  const room = MAX_DATABASE_NAME_LENGTH - TEST_DATABASE_PREFIX.length - 1 - suffix.length;
  return `${TEST_DATABASE_PREFIX}${sanitizeLabel(label, '_', room)}_${suffix}`;
}

/** `test-<label>-<random>`, at most 63 characters of `[a-z0-9-]`. */
export function testVhostName(label: string, suffix: string = randomSuffix()): string {
  const room = MAX_VHOST_NAME_LENGTH - TEST_VHOST_PREFIX.length - 1 - suffix.length;
  return `${TEST_VHOST_PREFIX}${sanitizeLabel(label, '-', room)}-${suffix}`;
}

/**
 * The guard that keeps tests away from real data: only a database whose name starts with `test_`
 * may be created or dropped by this library, whatever URL the environment points at.
 */
export function assertTestDatabaseName(name: string): void {
  if (!name.startsWith(TEST_DATABASE_PREFIX) || !/^[a-z0-9_]+$/.test(name) || name.length > MAX_DATABASE_NAME_LENGTH) {
    throw new Error(
      `Refusing to touch database "${name}": tests only create and drop databases named ${TEST_DATABASE_PREFIX}<label>_<random>`,
    );
  }
}

/** The same guard for vhosts: `/` and any vhost not named `test-...` are never created or deleted. */
export function assertTestVhostName(name: string): void {
  if (!name.startsWith(TEST_VHOST_PREFIX) || !/^[a-z0-9-]+$/.test(name) || name.length > MAX_VHOST_NAME_LENGTH) {
    throw new Error(
      `Refusing to touch vhost "${name}": tests only create and delete vhosts named ${TEST_VHOST_PREFIX}<label>-<random>`,
    );
  }
}
