import { randomUUID } from 'node:crypto';
import { waitFor } from '@shop/testing';
import { SignJWT } from 'jose';
import {
  APPS,
  expectNestError,
  freePort,
  newCustomer,
  orderOf,
  ShopClient,
  spawnApp,
  startSystem,
  uid,
  type AppName,
  type HttpResponse,
  type Order,
  type RequestOptions,
  type System,
} from '../src/support';

/**
 * The HTTP API's hardening, on the running apps: security headers, body limits and types, unknown
 * fields and query parameters, errors without internals, request ids, the rate limit (429 with
 * Retry-After), and with AUTH_JWT_SECRET set, bearer tokens (401), scopes (403) and customers who
 * see only their own orders and notifications (403, or 404 for another's order).
 */

const TEST_TIMEOUT = 90_000;
const SECRET = 'e2e-shared-secret-0123456789abcdef';
const ISSUER = 'https://id.shop.test';
const AUDIENCE = 'shop';

/** What an error body must never show: a stack frame, a path of the server, a driver's error. */
const INTERNALS = /\bat [\w.<>]+ \(|\n\s+at |node_modules|\/work\/|dist\/apps|QueryFailedError|typeorm|\.[jt]s:\d+/i;

/** SPEC.md's error shape, `message` an array, and nothing of the server's internals. */
function expectSafeError(response: HttpResponse, status: number, fields: Array<string | RegExp> = []): string[] {
  const messages = expectNestError(response, status, fields);
  expect(Array.isArray((response.body as { message: unknown }).message)).toBe(true);
  expect(response.text).not.toMatch(INTERNALS);
  return messages;
}

function token(
  subject: string | undefined,
  options: { scope?: string; expiresAt?: number; secret?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  return new SignJWT({ ...(subject !== undefined && { sub: subject }), ...(options.scope && { scope: options.scope }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? '10m')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** A token that claims not to be signed (`alg: none`). */
function unsignedToken(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 600;
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: subject, iss: ISSUER, aud: AUDIENCE, exp })}.`;
}

/** ShopClient sending `Authorization: Bearer <token>` with every request. */
class BearerClient extends ShopClient {
  constructor(
    baseUrl: (app: AppName) => string,
    private readonly bearer: string,
  ) {
    super(baseUrl);
  }

  override http<T = unknown>(app: AppName, path: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    return super.http<T>(app, path, {
      ...options,
      headers: { authorization: `Bearer ${this.bearer}`, ...options.headers },
    });
  }
}

describe('HTTP security, authentication off', () => {
  let system: System;
  const RATE_LIMIT = 5;

  beforeAll(async () => {
    // A small rate limit on notifications only: the other apps keep the default.
    system = await startSystem({
      label: 'http-security-open',
      env: { notifications: { RATE_LIMIT_MAX: String(RATE_LIMIT), RATE_LIMIT_WINDOW_MS: '60000' } },
    });
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  it('logs one warning at start that the API is open', () => {
    for (const app of APPS) {
      const warnings = system.output(app).match(/authentication is off.*the API is open/g) ?? [];
      expect({ app, warnings: warnings.length }).toEqual({ app, warnings: 1 });
    }
  });

  describe('security headers', () => {
    const expectSecurityHeaders = (response: HttpResponse, what: string) => {
      const headers = Object.fromEntries(
        ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'x-powered-by'].map(
          (name) => [name, response.headers.get(name)],
        ),
      );
      expect({ what, headers }).toEqual({
        what,
        headers: {
          'content-security-policy': "default-src 'none';frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'SAMEORIGIN',
          'referrer-policy': 'no-referrer',
          'x-powered-by': null,
        },
      });
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    };

    it.each(APPS)('are on every answer of %s: its API, its errors, its probes', async (app) => {
      const client = system.client;
      expectSecurityHeaders(await client.http(app, '/health/live'), `${app} /health/live`);
      expectSecurityHeaders(await client.http(app, '/nothing-here'), `${app} 404`);
      if (app !== 'notifications') {
        const business = {
          orders: '/orders?limit=1',
          inventory: '/products',
          payments: `/payments?orderId=${randomUUID()}`,
        };
        const response = await client.http(app, business[app]);
        expect(response.status).toBe(200);
        expectSecurityHeaders(response, `${app} ${business[app]}`);
      }
    });

    it.each(APPS)('let the Swagger UI of %s run its own scripts only', async (app) => {
      const page = await system.client.http(app, '/docs', { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/(^|;)script-src 'self'(;|$)/);
      expect(csp).toMatch(/(^|;)default-src 'self'(;|$)/);
      expect(csp).not.toMatch(/upgrade-insecure-requests/);
      const scripts = [...page.text.matchAll(/<script([^>]*)>/g)].map((match) => match[1]);
      expect(scripts.length).toBeGreaterThan(0);
      // no inline script, which the policy would block: each one loads from /docs
      for (const attributes of scripts) expect(attributes).toMatch(/src=["'][^"']+["']/);
      for (const asset of ['swagger-ui-bundle.js', 'swagger-ui-init.js', 'swagger-ui.css']) {
        const response = await system.client.http(app, `/docs/${asset}`, { headers: { accept: '*/*' } });
        expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      }
    });

    it('documents the 429 of every operation, and no bearer scheme while authentication is off', async () => {
      const document = (await system.client.http('orders', '/docs/openapi.json')).body as {
        paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
        components?: { securitySchemes?: unknown };
      };
      expect(Object.keys(document.paths['/orders']?.['post']?.responses ?? {})).toEqual(
        expect.arrayContaining(['202', '429']),
      );
      expect(document.paths['/orders']?.['post']?.security).toBeUndefined();
      expect(document.components?.securitySchemes).toBeUndefined();
    });
  });

  describe('bodies', () => {
    it('answers 413 to a body over 64 KiB, JSON or not, and places nothing', async () => {
      const customerId = newCustomer('big');
      const json = JSON.stringify({ ...orderOf(customerId, [['SKU-1', 1]]), padding: 'x'.repeat(70 * 1024) });
      expectSafeError(await system.client.placeOrderRaw(json), 413);
      const text = await system.client.http('orders', '/orders', {
        method: 'POST',
        body: 'x'.repeat(1024 * 1024),
        headers: { 'content-type': 'text/plain' },
      });
      expectSafeError(text, 413);
      const binary = await system.client.http('inventory', `/products/SKU-BIG-${uid()}`, {
        method: 'PUT',
        body: 'x'.repeat(200 * 1024),
        headers: { 'content-type': 'application/octet-stream' },
      });
      expectSafeError(binary, 413);
      expect((await system.client.listOrders({ customerId })).items).toEqual([]);
    });

    it('answers 415 to a body that is not JSON, and places nothing', async () => {
      const customerId = newCustomer('form');
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const response = await system.client.http('orders', '/orders', {
          method: 'POST',
          body: JSON.stringify(orderOf(customerId, [['SKU-1', 1]])),
          headers: { 'content-type': type },
        });
        expectSafeError(response, 415);
      }
      expect((await system.client.listOrders({ customerId })).items).toEqual([]);
    });

    it('rejects unknown fields of a body with a 400 naming them', async () => {
      const sku = `SKU-UNKNOWN-${uid()}`;
      const put = await system.client.http('inventory', `/products/${sku}`, {
        method: 'PUT',
        body: { name: 'Thing', price: 1, available: 1, admin: true },
      });
      expectSafeError(put, 400, ['admin']);
      const proto = await system.client.placeOrderRaw(
        `{"customerId": "c-1", "items": [{"sku": "SKU-1", "quantity": 1}], "paymentToken": "tok", "__proto__": {"x": 1}}`,
      );
      expectSafeError(proto, 400, ['__proto__']);
      expectSafeError(await system.client.http('inventory', `/products/${sku}`), 404);
    });

    it.each<[AppName, string]>([
      ['orders', '/orders?colour=red'],
      ['orders', `/orders/${randomUUID()}?colour=red`],
      ['orders', `/orders/${randomUUID()}/timeline?colour=red`],
      ['inventory', '/products?colour=red'],
      ['inventory', '/products/SKU-1?colour=red'],
      ['payments', `/payments?orderId=${randomUUID()}&colour=red`],
    ])('rejects an unknown query parameter on %s %s with a 400 naming it', async (app, path) => {
      expectSafeError(await system.client.http(app, path), 400, ['colour']);
    });
  });

  describe('errors', () => {
    const gzipGarbage = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    it.each<[string, AppName, string, RequestOptions, number]>([
      ['a malformed percent-encoding in an id', 'orders', '/orders/%E0', {}, 400],
      ['a truncated percent-encoding in a sku', 'inventory', '/products/%E0%A4%A', {}, 400],
      ['a percent sign alone', 'inventory', '/products/%', {}, 400],
      ['a NUL character in a sku', 'inventory', '/products/a%00b', {}, 400],
      ['a NUL character in a query', 'orders', '/orders?customerId=%00', {}, 400],
      ['a lone surrogate in a body', 'orders', '/orders', { method: 'POST', body: '{"customerId": "\\udc00"}' }, 400],
      ['malformed JSON', 'orders', '/orders', { method: 'POST', body: '{"customerId": ' }, 400],
      ['a JSON null body', 'orders', '/orders', { method: 'POST', body: 'null' }, 400],
      ['a JSON array body', 'orders', '/orders', { method: 'POST', body: '[1, 2]' }, 400],
      [
        'a body nested 5000 deep',
        'orders',
        '/orders',
        { method: 'POST', body: `{"items":${'['.repeat(5000)}${']'.repeat(5000)}}` },
        400,
      ],
      ['a gzip body that is not gzip', 'orders', '/orders', { method: 'POST', body: '{}', headers: gzipGarbage }, 400],
      [
        'an unknown charset',
        'orders',
        '/orders',
        { method: 'POST', body: '{}', headers: { 'content-type': 'application/json; charset=klingon' } },
        415,
      ],
      ['an unknown route', 'orders', `/orders/${randomUUID()}/nothing`, {}, 404],
      ['an unknown method', 'orders', '/orders', { method: 'DELETE' }, 404],
      ['a very long path', 'inventory', `/products/${'x'.repeat(8_000)}`, {}, 400],
      ['a cursor that is not one', 'orders', `/orders?cursor=${encodeURIComponent('%%%')}`, {}, 400],
    ])('answers %s in the error shape, without internals', async (_case, app, path, options, status) => {
      expectSafeError(await system.client.http(app, path, options), status);
    });
  });

  describe('X-Request-Id', () => {
    const idOf = async (value: string) =>
      (await system.client.http('inventory', '/products', { headers: { 'x-request-id': value } })).headers.get(
        'x-request-id',
      );
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

    it('echoes a plain token of up to 128 characters', async () => {
      expect(await idOf('req-1.a:b_c')).toBe('req-1.a:b_c');
      const long = `r${uid()}`.padEnd(128, 'x');
      expect(await idOf(long)).toBe(long);
    });

    it.each([
      ['longer than 128 characters', 'r'.repeat(129)],
      ['with spaces and markup', 'a b <script>'],
      ['with a header of its own', 'a; Set-Cookie: x=1'],
      ['with non-ASCII characters', 'ré\u00ff'],
    ])('replaces one %s with an id of its own', async (_case, value) => {
      const id = await idOf(value);
      expect(id).toMatch(UUID);
    });
  });

  describe('rate limit', () => {
    it(
      'answers 429 with Retry-After past RATE_LIMIT_MAX per window, never on health, metrics or docs',
      async () => {
        const client = system.client;
        const statuses: number[] = [];
        for (let i = 0; i <= RATE_LIMIT; i++) {
          statuses.push((await client.http('notifications', `/notifications?customerId=${newCustomer('rl')}`)).status);
        }
        expect(statuses).toEqual([...Array<number>(RATE_LIMIT).fill(200), 429]);

        const limited = await client.http('notifications', '/notifications/stream?customerId=c-1');
        expectSafeError(limited, 429);
        const retryAfter = Number(limited.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);

        for (const path of ['/health/live', '/health/ready', '/metrics', '/docs', '/docs/openapi.json']) {
          for (let i = 0; i < 3; i++) {
            const response = await client.http('notifications', path, { headers: { accept: '*/*' } });
            expect({ path, status: response.status }).toEqual({ path, status: 200 });
          }
        }
        // the other apps have the default (generous) limit
        expect((await client.http('orders', '/orders?limit=1')).status).toBe(200);
      },
      TEST_TIMEOUT,
    );
  });
});

describe('HTTP security, authentication with AUTH_JWT_SECRET', () => {
  let system: System;
  /** Alice, Bob, and an operator with the scopes the customers lack. */
  let alice: BearerClient;
  let bob: BearerClient;
  let operator: BearerClient;
  let aliceId: string;
  let bobId: string;

  beforeAll(async () => {
    const auth = { AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE };
    system = await startSystem({
      label: 'http-security-auth',
      env: { orders: auth, inventory: auth, payments: auth, notifications: auth },
    });
    const baseUrl = (app: AppName) => system.baseUrl(app);
    [aliceId, bobId] = [newCustomer('alice'), newCustomer('bob')];
    alice = new BearerClient(baseUrl, await token(aliceId));
    bob = new BearerClient(baseUrl, await token(bobId));
    operator = new BearerClient(baseUrl, await token('operator', { scope: 'inventory:write payments:read' }));
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  it('logs no warning about an open API', () => {
    for (const app of APPS) expect(system.output(app)).not.toMatch(/authentication is off/);
  });

  const ENDPOINTS: Array<[AppName, string, RequestOptions]> = [
    ['orders', '/orders', {}],
    ['orders', '/orders', { method: 'POST', body: orderOf('c-1', [['SKU-1', 1]]) }],
    ['orders', `/orders/${randomUUID()}`, {}],
    ['orders', `/orders/${randomUUID()}/timeline`, {}],
    ['orders', `/orders/${randomUUID()}/cancel`, { method: 'POST' }],
    ['inventory', '/products', {}],
    ['inventory', '/products/SKU-1', {}],
    ['inventory', '/products/SKU-1', { method: 'PUT', body: { name: 'x', price: 1, available: 1 } }],
    ['payments', `/payments?orderId=${randomUUID()}`, {}],
    ['notifications', '/notifications', {}],
    ['notifications', '/notifications/stream?customerId=c-1', {}],
  ];

  it.each(ENDPOINTS.map(([app, path, options]) => [options.method ?? 'GET', app, path, options] as const))(
    'answers 401 with a Bearer challenge to %s %s %s without a token',
    async (_method, app, path, options) => {
      const response = await system.client.http(app, path, options);
      expectSafeError(response, 401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    },
  );

  const BAD_TOKENS: Array<[string, () => Promise<string>, RegExp]> = [
    ['an expired token', () => token('c-1', { expiresAt: Math.floor(Date.now() / 1000) - 120 }), /expired/],
    [
      'a token signed with another secret',
      () => token('c-1', { secret: 'another-secret-0123456789abcdefgh' }),
      /invalid/,
    ],
    ['alg none', async () => unsignedToken('c-1'), /invalid/],
    ['another issuer', () => token('c-1', { issuer: 'https://evil.test' }), /invalid/],
    ['another audience', () => token('c-1', { audience: 'someone-else' }), /invalid/],
    ['no subject', () => token(undefined), /invalid/],
    ['garbage', async () => 'garbage', /invalid/],
  ];

  it.each(BAD_TOKENS)('answers 401 to %s, on every app', async (_case, make, message) => {
    const bearer = await make();
    for (const app of APPS) {
      const path = {
        orders: '/orders',
        inventory: '/products',
        payments: `/payments?orderId=${randomUUID()}`,
        notifications: '/notifications',
      }[app];
      const response = await system.client.http(app, path, { headers: { authorization: `Bearer ${bearer}` } });
      expect(expectSafeError(response, 401)).toEqual([expect.stringMatching(message)]);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"');
    }
  });

  it('answers 401 to another scheme than Bearer', async () => {
    const response = await system.client.http('orders', '/orders', {
      headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' },
    });
    expectSafeError(response, 401);
  });

  it.each(APPS)('keeps health, metrics and docs of %s open', async (app) => {
    for (const path of ['/health/live', '/health/ready', '/metrics', '/docs', '/docs/openapi.json']) {
      const response = await system.client.http(app, path, { headers: { accept: '*/*' } });
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
    }
  });

  it('documents the bearer scheme and its 401 on the operations', async () => {
    const document = (await system.client.http('inventory', '/docs/openapi.json')).body as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
      components: { securitySchemes: Record<string, { scheme?: string }> };
    };
    expect(document.components.securitySchemes['bearer']?.scheme).toBe('bearer');
    const put = document.paths['/products/{sku}']?.['put'];
    expect(put?.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(put?.responses ?? {})).toEqual(expect.arrayContaining(['401', '403', '429']));
    expect(document.paths['/health/ready']?.['get']?.security).toBeUndefined();
  });

  describe('scopes', () => {
    it('needs inventory:write to PUT a product; any caller reads them', async () => {
      const sku = `SKU-SCOPE-${uid()}`;
      const product = { name: 'Scoped', price: 100, available: 5 };
      const denied = await alice.http('inventory', `/products/${sku}`, { method: 'PUT', body: product });
      expect(expectSafeError(denied, 403)).toEqual(["the token's scope lacks inventory:write"]);
      expectSafeError(await alice.http('inventory', `/products/${sku}`), 404);

      await operator.putProduct(sku, product);
      expect(await alice.getProduct(sku)).toMatchObject({ sku, ...product });
      expect((await bob.listProducts()).map((p) => p.sku)).toContain(sku);
    });

    it('needs payments:read to list payments', async () => {
      const orderId = randomUUID();
      expectSafeError(await alice.http('payments', `/payments?orderId=${orderId}`), 403);
      expect(await operator.payments(orderId)).toEqual([]);
    });
  });

  describe('customers', () => {
    let sku: string;
    let order: Order;

    beforeAll(async () => {
      sku = `SKU-OWN-${uid()}`;
      await operator.putProduct(sku, { name: 'Own', price: 700, available: 10 });
    });

    it(
      "runs a customer's own order through the saga, and only hers",
      async () => {
        const placed = await alice.placeOrder(orderOf(aliceId, [[sku, 2]]));
        order = await alice.waitForOrderStatus(placed.order.id, 'CONFIRMED');
        expect(order).toMatchObject({ customerId: aliceId, total: 1_400 });
        await alice.waitForTimeline(order.id, ['order.placed']);
        await alice.waitForNotification(order.id, 'ORDER_CONFIRMED');
        expect(await operator.payments(order.id)).toEqual([
          expect.objectContaining({ status: 'CAPTURED', amount: 1_400 }),
        ]);

        // without customerId: her own orders and notifications
        expect((await alice.listOrders()).items.map((o) => o.id)).toEqual([order.id]);
        const notifications = await alice.http<Array<{ customerId: string }>>('notifications', '/notifications');
        expect(notifications.status).toBe(200);
        expect(new Set(notifications.body.map((n) => n.customerId))).toEqual(new Set([aliceId]));
        expect((await bob.listOrders()).items).toEqual([]);
      },
      TEST_TIMEOUT,
    );

    it('answers 403 to an order placed for another customer, and places nothing', async () => {
      const response = await alice.placeOrderRaw(orderOf(bobId, [[sku, 1]]));
      expect(expectSafeError(response, 403)).toEqual(['customerId must be the authenticated customer']);
      expect((await bob.listOrders()).items).toEqual([]);
    });

    it("answers 404 to another customer's order, its timeline and its cancel, which changes nothing", async () => {
      expect(order).toBeDefined();
      expectSafeError(await bob.http('orders', `/orders/${order.id}`), 404);
      expectSafeError(await bob.http('orders', `/orders/${order.id}/timeline`), 404);
      expectSafeError(await bob.cancel(order.id), 404);
      expect((await alice.getOrder(order.id)).status).toBe('CONFIRMED');
    });

    it("answers 403 to a list of another customer's orders or notifications", async () => {
      expectSafeError(await bob.http('orders', `/orders?customerId=${aliceId}`), 403);
      expectSafeError(await bob.http('notifications', `/notifications?customerId=${aliceId}`), 403);
      expectSafeError(await bob.http('notifications', `/notifications/stream?customerId=${aliceId}`), 403);
      expect((await alice.http('orders', `/orders?customerId=${aliceId}`)).status).toBe(200);
    });

    it('streams her own notifications', async () => {
      const abort = new AbortController();
      try {
        const response = await fetch(`${system.baseUrl('notifications')}/notifications/stream?customerId=${aliceId}`, {
          headers: { accept: 'text/event-stream', authorization: `Bearer ${await token(aliceId)}` },
          signal: abort.signal,
        });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      } finally {
        abort.abort();
      }
    });

    it(
      'lets her cancel her own order, refunded',
      async () => {
        expect(order).toBeDefined();
        expect((await alice.cancel(order.id)).status).toBe(202);
        await alice.waitForOrderStatus(order.id, 'CANCELLED');
        await waitFor(
          async () => (await operator.payments(order.id)).some((payment) => payment.status === 'REFUNDED'),
          { timeoutMs: 30_000, description: `the payment of ${order.id} to be refunded` },
        );
        await alice.waitForNotification(order.id, 'PAYMENT_REFUNDED');
      },
      TEST_TIMEOUT,
    );
  });
});

describe('authentication settings', () => {
  /** Starts payments with `env` and resolves with its exit and what it printed. */
  async function start(env: Record<string, string>) {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const port = await freePort();
    const proc = spawnApp('payments', {
      port,
      name: 'payments-settings',
      env: { ...inherited, ...env, PORT: String(port) },
    });
    const exit = await Promise.race([
      proc.exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000)),
    ]);
    if (!exit) await proc.kill('SIGKILL');
    return { exit, output: proc.output() };
  }

  it('stops an app given both AUTH_JWT_SECRET and AUTH_JWKS_URL, naming them', async () => {
    const { exit, output } = await start({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://id.shop.test/jwks.json' });
    expect(exit?.code).toBe(1);
    expect(output).toMatch(/^payments: Invalid setting AUTH_JWKS_URL: .*AUTH_JWT_SECRET or AUTH_JWKS_URL, not both/m);
  });

  it('stops an app given a secret shorter than 32 characters, naming it but not printing it', async () => {
    const { exit, output } = await start({ AUTH_JWT_SECRET: 'too-short-secret' });
    expect(exit?.code).toBe(1);
    expect(output).toMatch(
      /^payments: Invalid setting AUTH_JWT_SECRET: expected a secret of at least 32 characters \(got 16 characters\)/m,
    );
    expect(output).not.toContain('too-short-secret');
  });
});
