import { ServiceUnavailableException } from '@nestjs/common';
import type { Request } from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SettingsError } from '../settings';
import { Authenticator, authOptions, BearerChallenge, customerScope } from './auth';

const SECRET = 'a-shared-secret-of-32-characters!';

const request = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as unknown as Request;

function hs256(claims: Record<string, unknown>, options: { secret?: string; expiresIn?: string | number } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Resolves with the 401's message, failing when the promise resolves or rejects otherwise. */
async function challenge(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected a 401, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  if (!(error instanceof BearerChallenge)) throw error;
  expect(error.getStatus()).toBe(401);
  return (error.getResponse() as { message: string[] }).message[0];
}

describe('authOptions', () => {
  it('is off when neither key source is set', () => {
    expect(authOptions({})).toBeUndefined();
    expect(authOptions({ AUTH_JWT_ISSUER: 'https://issuer' })).toBeUndefined();
  });

  it('takes a secret or a JWKS, with the issuer and audience to check', () => {
    expect(authOptions({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: 'shop' })).toEqual({
      secret: SECRET,
      audience: 'shop',
    });
    expect(authOptions({ AUTH_JWKS_URL: 'https://id/jwks.json', AUTH_JWT_ISSUER: 'https://id' })).toEqual({
      jwksUrl: 'https://id/jwks.json',
      issuer: 'https://id',
    });
  });

  it('is a settings error when both are set, naming them', () => {
    const both = () => authOptions({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://id/jwks.json' });
    expect(both).toThrow(SettingsError);
    expect(both).toThrow(/AUTH_JWKS_URL.*AUTH_JWT_SECRET or AUTH_JWKS_URL, not both/);
  });
});

describe('Authenticator with a shared secret (HS256)', () => {
  const authenticator = new Authenticator({ secret: SECRET, issuer: 'https://issuer', audience: 'shop' });
  const good = { sub: 'c-1', iss: 'https://issuer', aud: 'shop', scope: 'inventory:write  payments:read' };

  it('gives the subject and the scopes of a token that verifies', async () => {
    const principal = await authenticator.principalOf(request(`Bearer ${await hs256(good, { expiresIn: '5m' })}`));
    expect(principal?.subject).toBe('c-1');
    expect([...(principal?.scopes ?? [])]).toEqual(['inventory:write', 'payments:read']);
  });

  it('takes the scheme in any case', async () => {
    const token = await hs256(good, { expiresIn: '5m' });
    expect((await authenticator.principalOf(request(`bearer ${token}`)))?.subject).toBe('c-1');
  });

  it('has no principal without an Authorization header (the guard then answers 401)', async () => {
    await expect(authenticator.principalOf(request())).resolves.toBeUndefined();
  });

  it('verifies a request once, however often it is asked', async () => {
    const req = request(`Bearer ${await hs256(good, { expiresIn: '5m' })}`);
    expect(authenticator.principalOf(req)).toBe(authenticator.principalOf(req));
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['an expired token', () => hs256(good, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['another secret', () => hs256(good, { expiresIn: '5m', secret: 'another-secret-of-32-characters!!' }), /invalid/],
    ['another issuer', () => hs256({ ...good, iss: 'https://evil' }, { expiresIn: '5m' }), /invalid/],
    ['another audience', () => hs256({ ...good, aud: 'other' }, { expiresIn: '5m' }), /invalid/],
    ['no sub', () => hs256({ ...good, sub: undefined }, { expiresIn: '5m' }), /invalid/],
    ['an empty sub', () => hs256({ ...good, sub: '' }, { expiresIn: '5m' }), /invalid/],
    ['no exp', () => hs256(good), /invalid/],
    [
      'alg none',
      async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...good, exp: 4_102_444_800 })}.`,
      /invalid/,
    ],
    [
      'a signature of another token',
      async () => {
        const [header, , signature] = (await hs256(good, { expiresIn: '5m' })).split('.');
        return `${header}.${base64url({ ...good, sub: 'c-2', exp: 4_102_444_800 })}.${signature}`;
      },
      /invalid/,
    ],
    ['no JWT at all', async () => 'not.a.jwt', /invalid/],
  ])('answers 401 to %s', async (_case, token, message) => {
    expect(await challenge(authenticator.principalOf(request(`Bearer ${await token()}`)))).toMatch(message);
  });

  it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Bearer ä.b.c'])(
    'answers 401 to the header %j',
    async (header) => {
      expect(await challenge(authenticator.principalOf(request(header)))).toMatch(/Bearer <token>/);
    },
  );
});

describe('Authenticator with a JWKS', () => {
  let server: Server;
  let jwksUrl: string;
  let rsa: CryptoKey;
  let ec: CryptoKey;
  let keys: JWK[];
  let requests = 0;

  beforeAll(async () => {
    const rsaPair = await generateKeyPair('RS256');
    const ecPair = await generateKeyPair('ES256');
    [rsa, ec] = [rsaPair.privateKey, ecPair.privateKey];
    keys = [
      { ...(await exportJWK(rsaPair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ecPair.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    server = createServer((_req, res) => {
      requests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const sign = (key: CryptoKey, alg: string, kid: string, claims: Record<string, unknown> = { sub: 'c-9' }) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid }).setExpirationTime('5m').sign(key);

  it('verifies RS256 and ES256 tokens with the keys it fetched once', async () => {
    const authenticator = new Authenticator({ jwksUrl });
    const before = requests;
    for (const token of [await sign(rsa, 'RS256', 'rsa-1'), await sign(ec, 'ES256', 'ec-1')]) {
      expect((await authenticator.principalOf(request(`Bearer ${token}`)))?.subject).toBe('c-9');
    }
    expect(requests - before).toBe(1);
  });

  it('answers 401 to a key it does not know, and to an HS256 token (no shared secret with a JWKS)', async () => {
    const authenticator = new Authenticator({ jwksUrl });
    const other = (await generateKeyPair('RS256')).privateKey;
    expect(
      await challenge(authenticator.principalOf(request(`Bearer ${await sign(other, 'RS256', 'rsa-2')}`))),
    ).toMatch(/invalid/);
    const hmac = await hs256({ sub: 'c-9' }, { expiresIn: '5m' });
    expect(await challenge(authenticator.principalOf(request(`Bearer ${hmac}`)))).toMatch(/invalid/);
  });

  it('answers 503, not 401, when the JWKS cannot be fetched', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const authenticator = new Authenticator({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    const token = await sign(rsa, 'RS256', 'rsa-1');
    await expect(authenticator.principalOf(request(`Bearer ${token}`))).rejects.toBeInstanceOf(
      ServiceUnavailableException,
    );
  });
});

describe('customerScope', () => {
  it('is what the request names when authentication is off', () => {
    expect(customerScope('c-1', undefined)).toBe('c-1');
    expect(customerScope(undefined, undefined)).toBeUndefined();
  });

  it('is the authenticated customer, named or not; another one is a 403', () => {
    expect(customerScope(undefined, 'c-1')).toBe('c-1');
    expect(customerScope('c-1', 'c-1')).toBe('c-1');
    expect(() => customerScope('c-2', 'c-1')).toThrow(expect.objectContaining({ status: 403 }));
  });
});
