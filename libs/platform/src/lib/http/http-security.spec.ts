import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import { SignJWT } from 'jose';
import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { CurrentCustomer, customerScope, RequiresScope, Unguarded, type AuthOptions } from './auth';
import { configureHttp } from './bootstrap';
import { HttpSecurityModule } from './http-security.module';
import { QueryParams } from './input';

/** The shared HTTP setup (configureHttp and HttpSecurityModule) on a small app of its own. */

const SECRET = 'a-shared-secret-of-32-characters!';

class ThingsQuery {
  @IsOptional() @IsString() @Length(1, 64) customerId?: string;
}

class ThingInput {
  @IsString() @Length(1, 64) name!: string;
  @IsInt() @Min(0) count!: number;
}

@Controller('things')
class ThingsController {
  @Get()
  list(@QueryParams() query: ThingsQuery, @CurrentCustomer() customer?: string) {
    return { customerId: customerScope(query.customerId, customer) ?? null };
  }

  @Get('boom')
  boom(): never {
    // A bug with internals in its message (a driver's syntax error): a client must never see them.
    const error = new Error('syntax error at or near "FROM" (relation "secret_table")');
    throw Object.assign(error, { code: '42601' });
  }

  @Get('outage')
  outage(): never {
    // What node-postgres throws when the server refuses connections.
    const error = new Error('connect ECONNREFUSED 10.1.2.3:5432 (relation "secret_table")');
    throw Object.assign(error, { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return { id };
  }

  @Put(':id')
  @RequiresScope('things:write')
  put(@Param('id') id: string, @Body() input: ThingInput) {
    return { id, ...input };
  }
}

@Unguarded()
@Controller('probe')
class ProbeController {
  @Get()
  probe() {
    return { ok: true };
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: { statusCode?: number; error?: string; message?: string[]; [key: string]: unknown };
  text: string;
}

async function startApp(auth: AuthOptions | undefined, rateLimit = { max: 0, windowMs: 1_000 }) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      HttpSecurityModule.forRoot(auth, { RATE_LIMIT_MAX: rateLimit.max, RATE_LIMIT_WINDOW_MS: rateLimit.windowMs }),
    ],
    controllers: [ThingsController, ProbeController],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
  configureHttp(app);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const call = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const response = await fetch(`${base}${path}`, init);
    const text = await response.text();
    let body: Answer['body'] = {};
    try {
      body = JSON.parse(text) as Answer['body'];
    } catch {
      // not JSON: the assertions on the body say so
    }
    return { status: response.status, headers: response.headers, body, text };
  };
  return { app, base, call };
}

/** SPEC.md's error shape, with nothing of the server's internals. */
function expectError(answer: Answer, status: number): string[] {
  expect({ status: answer.status, body: answer.body }).toEqual({
    status,
    body: { statusCode: status, error: expect.any(String), message: expect.any(Array) },
  });
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.text).not.toMatch(/\bat .+:\d+:\d+|node_modules|ECONNREFUSED|secret_table/);
  return answer.body.message ?? [];
}

const token = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
const bearer = async (claims: Record<string, unknown>) => ({ authorization: `Bearer ${await token(claims)}` });

describe('the shared HTTP setup, authentication off', () => {
  let server: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => (server = await startApp(undefined)));
  afterAll(() => server.app.close());

  it('sets the security headers, a CSP that allows nothing, and no X-Powered-By', async () => {
    const answer = await server.call('/things');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(answer.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(answer.headers.get('x-powered-by')).toBeNull();
  });

  it('lets everything through, a customer named or not', async () => {
    expect((await server.call('/things?customerId=c-7')).body).toEqual({ customerId: 'c-7' });
    expect((await server.call('/things')).body).toEqual({ customerId: null });
    const put = await server.call('/things/x', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'n', count: 1 }),
    });
    expect(put.status).toBe(200);
  });

  it('answers a 500 that says nothing of the error, in the error shape', async () => {
    const answer = await server.call('/things/boom');
    expect(expectError(answer, 500)).toEqual(['internal server error']);
    expect(answer.headers.get('retry-after')).toBeNull();
  });

  it('answers a database outage with a 503 and Retry-After that names the database, not its internals', async () => {
    const answer = await server.call('/things/outage');
    expect(expectError(answer, 503)).toEqual(['the database is unavailable; retry in a moment']);
    expect(answer.headers.get('retry-after')).toBe('2');
  });

  it('answers a 404 for an unknown route and a 400 for a malformed percent-encoding, in the error shape', async () => {
    expectError(await server.call('/nothing/here'), 404);
    expectError(await server.call('/things/%E0%A4%A'), 400);
  });

  it("answers what Node's parser refuses in the error shape too: a URL over 16 KiB is a 431", async () => {
    const answer = await server.call(`/things?customerId=${'x'.repeat(20_000)}`);
    expect(expectError(answer, 431)).toEqual(['request headers (URL included) larger than 16 KiB']);
    expect(answer.headers.get('connection')).toBe('close');
    const malformed = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(server.base).port), '127.0.0.1', () =>
        socket.end('GET /things HTTP/1.1\r\nHost x\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(malformed).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(malformed.slice(malformed.indexOf('\r\n\r\n') + 4))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: ['malformed HTTP request'],
    });
  });

  it('rejects an undeclared query parameter, naming it, on a route without a query DTO', async () => {
    expect(expectError(await server.call('/things/x?colour=red'), 400)).toEqual(['property colour should not exist']);
    expect(expectError(await server.call('/things?colour=red'), 400)).toEqual(['property colour should not exist']);
    expect((await server.call('/probe?anything=1')).status).toBe(200);
  });

  it.each<[string, string, RegExp]>([
    ['a NUL character', JSON.stringify({ name: 'a\u0000b', count: 1 }), /^name must not contain NUL/],
    ['a lone surrogate', '{"name": "a\\ud800", "count": 1}', /^name must not contain NUL/],
    ['__proto__', '{"name": "n", "count": 1, "__proto__": {"admin": true}}', /^property __proto__ should not exist$/],
    [
      'deep nesting',
      `{"name": ${'['.repeat(2_000)}${']'.repeat(2_000)}, "count": 1}`,
      /^name(\.0)+ is nested too deeply$/,
    ],
    ['malformed JSON', '{"name": ', /not valid JSON/],
  ])('rejects a body with %s with a 400 naming the problem', async (_case, body, message) => {
    const answer = await server.call('/things/x', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(expectError(answer, 400)).toEqual([expect.stringMatching(message)]);
  });

  it('rejects a NUL character in a path parameter or a query', async () => {
    expect(expectError(await server.call('/things/a%00b'), 400)).toEqual([expect.stringMatching(/^id must not/)]);
    expect(expectError(await server.call('/things?customerId=%00'), 400)).toEqual([
      expect.stringMatching(/^customerId must not/),
    ]);
  });

  it('answers 413 to a body over 64 KiB of any type, and 415 to a body that is not JSON', async () => {
    const big = 'x'.repeat(65 * 1024);
    for (const type of ['application/json', 'text/plain', 'application/octet-stream']) {
      const answer = await server.call('/things/x', { method: 'PUT', headers: { 'content-type': type }, body: big });
      expectError(answer, 413);
      expect(answer.headers.get('connection')).toBe('close');
    }
    const text = await server.call('/things/x', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expectError(text, 415);
    const json = await server.call('/things/x', {
      method: 'PUT',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ name: 'n', count: 1 }),
    });
    expect(json.status).toBe(200);
  });

  it.each([
    ['application/json', 413],
    ['text/plain', 415],
  ])('answers a chunked %s body of 1 MiB with a %d before its end, closing the connection', async (type, expected) => {
    const answer = await new Promise<{ status: number; connection?: string }>((resolve, reject) => {
      const req = httpRequest(`${server.base}/things/x`, {
        method: 'PUT',
        headers: { 'content-type': type, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
      });
      // the server closes the connection while the rest is still being sent: EPIPE or ECONNRESET after the answer
      req.on('error', reject);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      for (let i = 0; i < 64; i++) req.write(chunk);
      req.end();
    });
    expect(answer).toEqual({ status: expected, connection: 'close' });
  });
});

describe('the shared HTTP setup, authentication on', () => {
  let server: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => (server = await startApp({ secret: SECRET })));
  afterAll(() => server.app.close());

  it('answers 401 with a Bearer challenge without a token or with a bad one', async () => {
    const none = await server.call('/things');
    expectError(none, 401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    const bad = await server.call('/things', {
      headers: { authorization: `Bearer ${await token({ sub: 'c-1' }, 'x'.repeat(32))}` },
    });
    expect(expectError(bad, 401)).toEqual(['the bearer token is invalid']);
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"');
  });

  it('leaves @Unguarded routes open', async () => {
    expect((await server.call('/probe')).status).toBe(200);
  });

  it('scopes to the token subject: named or not, another customer is a 403', async () => {
    const headers = await bearer({ sub: 'c-1' });
    expect((await server.call('/things', { headers })).body).toEqual({ customerId: 'c-1' });
    expect((await server.call('/things?customerId=c-1', { headers })).body).toEqual({ customerId: 'c-1' });
    expect(expectError(await server.call('/things?customerId=c-2', { headers }), 403)).toEqual([
      'customerId must be the authenticated customer',
    ]);
  });

  it('needs the route scope: 403 without it', async () => {
    const put = async (scope?: string) =>
      server.call('/things/x', {
        method: 'PUT',
        headers: { ...(await bearer({ sub: 'c-1', ...(scope && { scope }) })), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'n', count: 1 }),
      });
    expect(expectError(await put(), 403)).toEqual(["the token's scope lacks things:write"]);
    expectError(await put('things:read other:write'), 403);
    expect((await put('things:read things:write')).status).toBe(200);
  });

  it('authenticates before it validates: a bad request without a token is a 401', async () => {
    expectError(await server.call('/things/x?colour=red'), 401);
  });
});

describe('the rate limit', () => {
  let server: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => (server = await startApp({ secret: SECRET }, { max: 3, windowMs: 60_000 })));
  afterAll(() => server.app.close());

  it('answers 429 with Retry-After past the limit, per token subject, never on @Unguarded routes', async () => {
    const alice = await bearer({ sub: 'alice' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await server.call('/things', { headers: alice })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    // the budget is the client's, across routes
    const limited = await server.call('/things/y', { headers: alice });
    expect(expectError(limited, 429)).toEqual([expect.stringMatching(/^too many requests: at most 3 per 60000 ms/)]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);

    // another subject has a budget of its own; the probes have none
    expect((await server.call('/things', { headers: await bearer({ sub: 'bob' }) })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await server.call('/probe')).status).toBe(200);
  });

  it('counts requests without a valid token against their IP address, before answering 401', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await server.call('/things')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
