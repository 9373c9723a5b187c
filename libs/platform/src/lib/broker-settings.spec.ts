import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerConnection } from './broker-connection';
import { commonSettings, loadSettings, SettingsError } from './settings';

const shape = commonSettings({ port: 3001, database: 'orders' });
/** Loads the settings as runApp does (loadSettings, then the cross-setting checks). */
const connectionFor = (env: Record<string, string>) => brokerConnection(loadSettings(shape, env));

describe('broker settings', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  const AMQPS = 'amqps://guest:guest@broker.example:5671/shop';
  /** SPEC.md's archive retention when ARCHIVE_MAX_BYTES and ARCHIVE_MAX_AGE are not set. */
  const ARCHIVE = { maxBytes: 5_000_000_000, maxAge: '30D' };
  /** Payload compression when MESSAGING_COMPRESS_* and MESSAGING_MAX_DECOMPRESSED_BYTES are not set. */
  const PAYLOADS = {
    compression: { minBytes: 8192, encoding: 'gzip' },
    maxDecompressedBytes: 16 * 2 ** 20,
    // and the ordered handlers' partitions when MESSAGING_ORDERED_PARTITIONS is not set
    ordered: { partitions: 8 },
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'broker-settings-'));
    // A self-signed certificate (the openssl CLI: Node makes keys, not certificates) and keys that fit or not.
    const req = 'req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=client'.split(' ');
    execFileSync('openssl', [...req, '-keyout', file('client.key'), '-out', file('client.pem')], { stdio: 'ignore' });
    const key = createPrivateKey(readFileSync(file('client.key')));
    writeFileSync(
      file('client-encrypted.key'),
      key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' }),
    );
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(file('other.key'), other.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(file('not-pem.txt'), 'hello\n');
    writeFileSync(file('password'), 'p@ss:w/rd %41?\n');
    writeFileSync(file('empty'), '\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves RABBITMQ_URL alone and asks for no TLS when none of them is set', () => {
    expect(connectionFor({})).toEqual({
      url: 'amqp://guest:guest@localhost:5672',
      tls: undefined,
      archive: ARCHIVE,
      ...PAYLOADS,
    });
    expect(connectionFor({ RABBITMQ_URL: AMQPS })).toEqual({
      url: AMQPS,
      tls: undefined,
      archive: ARCHIVE,
      ...PAYLOADS,
    });
  });

  it('reads the CA, the client certificate and its key', () => {
    const connection = connectionFor({
      RABBITMQ_URL: AMQPS,
      RABBITMQ_TLS_CA_FILE: file('client.pem'),
      RABBITMQ_TLS_CERT_FILE: file('client.pem'),
      RABBITMQ_TLS_KEY_FILE: file('client.key'),
    });
    expect(connection).toEqual({
      url: AMQPS,
      tls: {
        ca: readFileSync(file('client.pem'), 'utf8'),
        cert: readFileSync(file('client.pem'), 'utf8'),
        key: readFileSync(file('client.key'), 'utf8'),
        passphrase: undefined,
      },
      archive: ARCHIVE,
      ...PAYLOADS,
    });
  });

  it('reads the compression of event bodies and the cap of their decompressed size', () => {
    expect(
      connectionFor({
        MESSAGING_COMPRESS_MIN_BYTES: '64KiB',
        MESSAGING_COMPRESS_ENCODING: 'br',
        MESSAGING_MAX_DECOMPRESSED_BYTES: '4 MiB',
      }),
    ).toMatchObject({ compression: { minBytes: 65_536, encoding: 'br' }, maxDecompressedBytes: 4 * 2 ** 20 });
    expect(connectionFor({ MESSAGING_COMPRESS_MIN_BYTES: 'off' }).compression).toBe(false);
    expect(connectionFor({ MESSAGING_COMPRESS_MIN_BYTES: 'OFF', MESSAGING_COMPRESS_ENCODING: 'br' }).compression).toBe(
      false,
    );
    expect(() => connectionFor({ MESSAGING_COMPRESS_MIN_BYTES: '0' })).toThrow(
      'Invalid setting MESSAGING_COMPRESS_MIN_BYTES: expected a size in bytes, e.g. 8192 or 8KiB, or off (got "0")',
    );
    expect(() => connectionFor({ MESSAGING_COMPRESS_ENCODING: 'zstd' })).toThrow(
      'Invalid setting MESSAGING_COMPRESS_ENCODING: expected one of gzip, br (got "zstd")',
    );
    expect(() => connectionFor({ MESSAGING_MAX_DECOMPRESSED_BYTES: '0' })).toThrow(
      /Invalid setting MESSAGING_MAX_DECOMPRESSED_BYTES: expected a size in bytes from 1 to \d+, e\.g\. 16MiB/,
    );
    expect(() => connectionFor({ MESSAGING_MAX_DECOMPRESSED_BYTES: '1TiB' })).toThrow(
      /MESSAGING_MAX_DECOMPRESSED_BYTES/,
    );
  });

  it('reads the archive retention in bytes or with a unit, and in the broker syntax of ages', () => {
    expect(connectionFor({ ARCHIVE_MAX_BYTES: '512MiB', ARCHIVE_MAX_AGE: '12h' }).archive).toEqual({
      maxBytes: 512 * 2 ** 20,
      maxAge: '12h',
    });
    expect(connectionFor({ ARCHIVE_MAX_BYTES: '2000000' }).archive.maxBytes).toBe(2_000_000);
    expect(connectionFor({ ARCHIVE_MAX_BYTES: '1.5 GB' }).archive.maxBytes).toBe(1_500_000_000);
    expect(() => connectionFor({ ARCHIVE_MAX_BYTES: 'lots' })).toThrow(/ARCHIVE_MAX_BYTES: expected a size in bytes/);
    expect(() => connectionFor({ ARCHIVE_MAX_BYTES: '0' })).toThrow(/ARCHIVE_MAX_BYTES/);
    expect(() => connectionFor({ ARCHIVE_MAX_AGE: '30 days' })).toThrow(
      /ARCHIVE_MAX_AGE: expected a number and one of/,
    );
  });

  it('takes an encrypted key with its passphrase', () => {
    const { tls } = connectionFor({
      RABBITMQ_URL: AMQPS,
      RABBITMQ_TLS_CERT_FILE: file('client.pem'),
      RABBITMQ_TLS_KEY_FILE: file('client-encrypted.key'),
      RABBITMQ_TLS_KEY_PASSPHRASE: 'open sesame',
    });
    expect(tls).toMatchObject({ key: expect.stringContaining('ENCRYPTED PRIVATE KEY'), passphrase: 'open sesame' });
  });

  it('puts the password of RABBITMQ_PASSWORD_FILE into the URL, percent-encoded', () => {
    const { url } = connectionFor({
      RABBITMQ_URL: 'amqps://shop:ignored@broker.example/shop',
      RABBITMQ_PASSWORD_FILE: file('password'),
    });
    expect(url).toMatch(/^amqps:\/\/shop:[^@]+@broker\.example\/shop$/);
    // amqplib percent-decodes the URL's password; the file's trailing newline is dropped.
    expect(decodeURIComponent(new URL(url).password)).toBe('p@ss:w/rd %41?');
  });

  it('takes several nodes of one cluster, and gives each the password of RABBITMQ_PASSWORD_FILE', () => {
    const several = 'amqps://shop:ignored@rabbit-1,rabbit-2,rabbit-3:5671/shop';
    expect(connectionFor({ RABBITMQ_URL: several }).url).toBe(several);
    const { url } = connectionFor({ RABBITMQ_URL: several, RABBITMQ_PASSWORD_FILE: file('password') });
    const nodes = url.split(',').map((node) => new URL(node));
    expect(nodes.map((node) => node.host)).toEqual(['rabbit-1:5671', 'rabbit-2:5671', 'rabbit-3:5671']);
    for (const node of nodes) expect(decodeURIComponent(node.password)).toBe('p@ss:w/rd %41?');
    expect(() => connectionFor({ RABBITMQ_URL: 'amqp://u:p@h1,h2', RABBITMQ_TLS_CA_FILE: file('client.pem') })).toThrow(
      'Invalid setting RABBITMQ_URL: expected an amqps:// URL, as RABBITMQ_TLS_CA_FILE is set (got "amqp://u:***@h1,amqp://u:***@h2")',
    );
  });

  it.each([
    [
      'a file that does not exist',
      { RABBITMQ_TLS_CA_FILE: '/nonexistent/ca.pem' },
      'Invalid setting RABBITMQ_TLS_CA_FILE: expected a readable file; ENOENT: no such file or directory (got "/nonexistent/ca.pem")',
    ],
    [
      'a directory',
      { RABBITMQ_PASSWORD_FILE: '/' },
      'Invalid setting RABBITMQ_PASSWORD_FILE: expected a readable file; EISDIR',
    ],
  ])('stops on %s, naming the setting', (_, env, message) => {
    expect(() => loadSettings(shape, env)).toThrow(SettingsError);
    expect(() => loadSettings(shape, env)).toThrow(message);
  });

  it.each([
    [
      'TLS files with an amqp:// URL',
      { RABBITMQ_TLS_CA_FILE: 'client.pem' },
      'Invalid setting RABBITMQ_URL: expected an amqps:// URL, as RABBITMQ_TLS_CA_FILE is set (got "amqp://guest:***@localhost:5672")',
    ],
    [
      'a certificate without its key',
      { RABBITMQ_URL: AMQPS, RABBITMQ_TLS_CERT_FILE: 'client.pem' },
      'Invalid setting RABBITMQ_TLS_KEY_FILE: expected the key of RABBITMQ_TLS_CERT_FILE (it is not set)',
    ],
    [
      'a key without its certificate',
      { RABBITMQ_URL: AMQPS, RABBITMQ_TLS_KEY_FILE: 'client.key' },
      'Invalid setting RABBITMQ_TLS_CERT_FILE: expected the certificate of RABBITMQ_TLS_KEY_FILE (it is not set)',
    ],
    [
      'a passphrase without a key',
      { RABBITMQ_URL: AMQPS, RABBITMQ_TLS_KEY_PASSPHRASE: 'open sesame' },
      'Invalid setting RABBITMQ_TLS_KEY_FILE: expected the key RABBITMQ_TLS_KEY_PASSPHRASE decrypts (it is not set)',
    ],
    [
      'a CA file that is no certificate',
      { RABBITMQ_URL: AMQPS, RABBITMQ_TLS_CA_FILE: 'not-pem.txt' },
      'Invalid setting RABBITMQ_TLS_CA_FILE: expected a PEM certificate (got "DIR/not-pem.txt")',
    ],
    [
      'a key file that is no key',
      { RABBITMQ_URL: AMQPS, RABBITMQ_TLS_CERT_FILE: 'client.pem', RABBITMQ_TLS_KEY_FILE: 'not-pem.txt' },
      'Invalid setting RABBITMQ_TLS_KEY_FILE: expected a PEM private key (got "DIR/not-pem.txt")',
    ],
    [
      'a key of another certificate',
      { RABBITMQ_URL: AMQPS, RABBITMQ_TLS_CERT_FILE: 'client.pem', RABBITMQ_TLS_KEY_FILE: 'other.key' },
      'Invalid setting RABBITMQ_TLS_KEY_FILE: expected the key of RABBITMQ_TLS_CERT_FILE (got "DIR/other.key")',
    ],
    [
      'an encrypted key without its passphrase',
      { RABBITMQ_URL: AMQPS, RABBITMQ_TLS_CERT_FILE: 'client.pem', RABBITMQ_TLS_KEY_FILE: 'client-encrypted.key' },
      'Invalid setting RABBITMQ_TLS_KEY_PASSPHRASE: expected the passphrase of the encrypted RABBITMQ_TLS_KEY_FILE (it is not set)',
    ],
    [
      'a wrong passphrase',
      {
        RABBITMQ_URL: AMQPS,
        RABBITMQ_TLS_CERT_FILE: 'client.pem',
        RABBITMQ_TLS_KEY_FILE: 'client-encrypted.key',
        RABBITMQ_TLS_KEY_PASSPHRASE: 'wrong',
      },
      'Invalid setting RABBITMQ_TLS_KEY_PASSPHRASE: expected the passphrase of RABBITMQ_TLS_KEY_FILE; this one does not decrypt it (got "***")',
    ],
    [
      'an empty password file',
      { RABBITMQ_PASSWORD_FILE: 'empty' },
      'Invalid setting RABBITMQ_PASSWORD_FILE: expected a password; the file is empty (got "DIR/empty")',
    ],
    [
      'a password file with a URL naming no user',
      { RABBITMQ_URL: 'amqp://broker.example', RABBITMQ_PASSWORD_FILE: 'password' },
      'Invalid setting RABBITMQ_URL: expected a user name for RABBITMQ_PASSWORD_FILE (got "amqp://broker.example")',
    ],
  ])('stops on %s, naming the setting', (_, env, message) => {
    // File names are relative to the test's directory.
    const withPaths = Object.fromEntries(
      Object.entries(env).map(([name, value]) => [name, name.endsWith('_FILE') ? file(value) : value]),
    );
    const connect = () => connectionFor(withPaths);
    expect(connect).toThrow(SettingsError);
    expect(connect).toThrow(message.replace('DIR', dir));
  });
});
