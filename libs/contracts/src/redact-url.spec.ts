import { redactUrl } from './redact-url';

describe('redactUrl', () => {
  it('replaces the password by *** and keeps the rest', () => {
    expect(redactUrl('amqp://guest:secret@localhost:5672/vhost?heartbeat=5')).toBe(
      'amqp://guest:***@localhost:5672/vhost?heartbeat=5',
    );
    expect(redactUrl('postgres://user:p%40ss@db:5432/shop')).toBe('postgres://user:***@db:5432/shop');
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/postgres')).toBe(
      'postgres://postgres@127.0.0.1:5432/postgres',
    );
    expect(redactUrl('http://127.0.0.1:15672/api')).toBe('http://127.0.0.1:15672/api');
  });

  it('takes a URL object, and does not change it', () => {
    const url = new URL('amqps://app:secret@broker:5671');
    expect(redactUrl(url)).toBe('amqps://app:***@broker:5671');
    expect(url.password).toBe('secret');
  });

  it('leaves out the query parameters it is told to', () => {
    expect(redactUrl('amqp://a:b@host/v?heartbeat=5&frameMax=0', { withoutParams: ['heartbeat'] })).toBe(
      'amqp://a:***@host/v?frameMax=0',
    );
    expect(redactUrl('amqp://a:b@host/v?heartbeat=5', { withoutParams: ['heartbeat'] })).toBe('amqp://a:***@host/v');
  });

  it('shows no part of a string that is no URL, unless told how', () => {
    expect(redactUrl('//user:secret@host:5672')).toBe('<unparsable URL>');
    expect(redactUrl('not a url', { unparsable: (text) => `[${text}]` })).toBe('[not a url]');
  });
});
