import { commonSettings, loadSettings, setting, SettingsError } from './settings';

const shape = {
  ...commonSettings({ port: 3001, database: 'orders' }),
  ORDER_TIMEOUT_MS: setting.integer(60_000, 100),
  FAILURE_RATE: setting.fraction(0),
};

describe('loadSettings', () => {
  it("gives SPEC.md's defaults when nothing is set", () => {
    expect(loadSettings(shape, {})).toEqual({
      PORT: 3001,
      DATABASE_URL: 'postgres://postgres@localhost:5432/orders',
      DATABASE_CONNECT_TIMEOUT_MS: 5_000,
      DATABASE_STATEMENT_TIMEOUT_MS: 15_000,
      RABBITMQ_URL: 'amqp://guest:guest@localhost:5672',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      RATE_LIMIT_MAX: 1000,
      RATE_LIMIT_WINDOW_MS: 1000,
      ORDER_TIMEOUT_MS: 60_000,
      FAILURE_RATE: 0,
      ARCHIVE_MAX_BYTES: 5_000_000_000,
      ARCHIVE_MAX_AGE: '30D',
      MESSAGING_COMPRESS_MIN_BYTES: 8192,
      MESSAGING_COMPRESS_ENCODING: 'gzip',
      MESSAGING_MAX_DECOMPRESSED_BYTES: 16 * 2 ** 20,
      MESSAGING_ORDERED_PARTITIONS: 8,
    });
  });

  it('parses what is set, and treats an empty variable as not set', () => {
    const settings = loadSettings(shape, {
      PORT: ' 8080 ',
      ORDER_TIMEOUT_MS: '1500',
      FAILURE_RATE: '0.25',
      LOG_LEVEL: '',
    });
    expect(settings).toMatchObject({ PORT: 8080, ORDER_TIMEOUT_MS: 1500, FAILURE_RATE: 0.25, LOG_LEVEL: 'log' });
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid setting PORT: expected a TCP port, an integer from 1 to 65535 (got "abc")'],
    [
      { DATABASE_STATEMENT_TIMEOUT_MS: '50' },
      'Invalid setting DATABASE_STATEMENT_TIMEOUT_MS: expected an integer from 100 to 3600000 (got "50")',
    ],
    [{ PORT: '70000' }, 'Invalid setting PORT: expected a TCP port, an integer from 1 to 65535 (got "70000")'],
    [{ ORDER_TIMEOUT_MS: '1.5' }, 'Invalid setting ORDER_TIMEOUT_MS: expected an integer from 100 to'],
    [{ FAILURE_RATE: '2' }, 'Invalid setting FAILURE_RATE: expected a number from 0 to 1 (got "2")'],
    [{ LOG_LEVEL: 'loud' }, 'Invalid setting LOG_LEVEL: expected one of error, warn, log, debug, verbose (got "loud")'],
    [{ LOG_FORMAT: 'xml' }, 'Invalid setting LOG_FORMAT: expected one of json, pretty (got "xml")'],
    [{ RABBITMQ_URL: 'http://x' }, 'Invalid setting RABBITMQ_URL: expected a URL starting with amqp:// or amqps://'],
    [
      { RABBITMQ_URL: 'amqp://u:secret@h1:x,h2/shop' },
      'Invalid setting RABBITMQ_URL: expected a TCP port after "h1:", not "x" (got "amqp://u:***@h1:x,h2/shop")',
    ],
    [
      { RABBITMQ_URL: 'amqp://u:secret@h1/shop,amqp://u:secret@h2/other' },
      'Invalid setting RABBITMQ_URL: expected the nodes of one cluster, with the same protocol, user and vhost; h1:5672 and h2:5672 differ in vhost ("shop" and "other") (got "amqp://u:***@h1/shop,amqp://u:***@h2/other")',
    ],
    [
      { AUTH_JWKS_URL: 'ftp://id/jwks' },
      'Invalid setting AUTH_JWKS_URL: expected a URL starting with https:// or http://',
    ],
    [{ RATE_LIMIT_MAX: '-1' }, 'Invalid setting RATE_LIMIT_MAX: expected an integer from 0 to'],
    [{ RATE_LIMIT_WINDOW_MS: '0' }, 'Invalid setting RATE_LIMIT_WINDOW_MS: expected an integer from 1 to'],
  ])('stops on %j with one line naming the setting', (env, message) => {
    expect(() => loadSettings(shape, env)).toThrow(SettingsError);
    expect(() => loadSettings(shape, env)).toThrow(message);
  });

  it('reads the authentication settings, all unset by default (authentication off)', () => {
    const defaults = loadSettings(shape, {});
    for (const name of ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const) {
      expect(defaults[name]).toBeUndefined();
    }
    const secret = 's'.repeat(32);
    expect(
      loadSettings(shape, { AUTH_JWT_SECRET: secret, AUTH_JWT_ISSUER: 'https://id', AUTH_JWT_AUDIENCE: 'shop' }),
    ).toMatchObject({ AUTH_JWT_SECRET: secret, AUTH_JWT_ISSUER: 'https://id', AUTH_JWT_AUDIENCE: 'shop' });
    expect(loadSettings(shape, { AUTH_JWKS_URL: 'http://id:8080/jwks.json' }).AUTH_JWKS_URL).toBe(
      'http://id:8080/jwks.json',
    );
  });

  it('stops on a secret shorter than 32 characters, naming it but never printing it', () => {
    const load = () => loadSettings(shape, { AUTH_JWT_SECRET: 'hunter2-hunter2' });
    expect(load).toThrow(
      'Invalid setting AUTH_JWT_SECRET: expected a secret of at least 32 characters (got 15 characters)',
    );
    expect(load).not.toThrow(/hunter2/);
  });

  it('never prints a password it was given', () => {
    expect(() => loadSettings(shape, { DATABASE_URL: 'mysql://user:s3cret@db/x' })).toThrow(
      'Invalid setting DATABASE_URL: expected a URL starting with postgres:// or postgresql:// (got "mysql://user:***@db/x")',
    );
  });

  it('shows a URL setting that is no URL at all as it was given, cut at 80 characters', () => {
    const given = `no URL ${'x'.repeat(100)}`;
    expect(() => loadSettings(shape, { DATABASE_URL: given })).toThrow(`(got "${given.slice(0, 80)}...")`);
  });
});
