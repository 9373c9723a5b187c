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
