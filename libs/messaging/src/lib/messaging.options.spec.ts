import { resolveOptions, type MessagingTlsOptions } from './messaging.options';

const tlsOf = (url: string, tls?: MessagingTlsOptions) => resolveOptions({ app: 'orders', url, tls }).tls;

describe('resolveOptions: TLS', () => {
  it('forces certificate verification on for amqps://, also under NODE_TLS_REJECT_UNAUTHORIZED=0', () => {
    expect(tlsOf('amqps://broker.example')).toEqual({ rejectUnauthorized: true });
    expect(tlsOf('amqps://broker.example', { ca: 'CA', cert: 'CERT', key: 'KEY', passphrase: 'p' })).toEqual({
      ca: 'CA',
      cert: 'CERT',
      key: 'KEY',
      passphrase: 'p',
      rejectUnauthorized: true,
    });
  });

  it('takes nothing but the certificates: no way to turn verification or the name check off', () => {
    const sneaky = { ca: 'CA', rejectUnauthorized: false, checkServerIdentity: () => undefined, servername: 'x' };
    expect(tlsOf('amqps://broker.example', sneaky as MessagingTlsOptions)).toEqual({
      ca: 'CA',
      rejectUnauthorized: true,
    });
  });

  it('refuses certificates with an amqp:// URL, which would connect without TLS', () => {
    expect(() => tlsOf('amqp://broker.example', { ca: 'CA' })).toThrow(
      'MessagingOptions.tls needs an amqps:// url: over amqp:// the connection would not be encrypted',
    );
    expect(tlsOf('amqp://broker.example')).toEqual({});
  });
});

describe('resolveOptions: payload compression', () => {
  const resolve = (options: Partial<Parameters<typeof resolveOptions>[0]>) =>
    resolveOptions({ app: 'orders', url: 'amqp://broker.example', ...options });

  it('gzips bodies over 8 KiB and caps decompression at 16 MiB unless told otherwise', () => {
    expect(resolve({})).toMatchObject({
      compression: { minBytes: 8192, encoding: 'gzip' },
      maxDecompressedBytes: 16 * 2 ** 20,
    });
    expect(resolve({ compression: { encoding: 'br' } }).compression).toEqual({ minBytes: 8192, encoding: 'br' });
    expect(resolve({ compression: false, maxDecompressedBytes: 1024 })).toMatchObject({
      compression: undefined,
      maxDecompressedBytes: 1024,
    });
  });

  it('refuses what cannot work', () => {
    expect(() => resolve({ compression: { minBytes: -1 } })).toThrow(/compression.minBytes must be an integer >= 0/);
    expect(() => resolve({ compression: { encoding: 'zstd' as 'br' } })).toThrow(/must be one of gzip, br/);
    expect(() => resolve({ maxDecompressedBytes: 0 })).toThrow(/maxDecompressedBytes must be an integer from 1/);
  });
});
