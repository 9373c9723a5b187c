import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  PushClient,
  PushFailure,
  signBody,
  verifySignature,
  type PushClientOptions,
  type Resolver,
} from './push-client';
import { UrlAllowList } from './url-allow-list';

/**
 * A self-signed certificate for localhost, hooks.internal.test and 127.0.0.1 (EC P-256, valid until 2126),
 * made with: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 *   -subj /CN=localhost -addext subjectAltName=DNS:localhost,DNS:hooks.internal.test,IP:127.0.0.1
 */
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpKTcylXZxOnEQIk0
RW6x+9XG1U69DBXp/KIuTUJrIk2hRANCAAT4S2Zd9J/eB4eQWyKaFAKGW7crjgex
2kan8nxQft63B1emPC+/RdX8eXfj1An6p5e8pVWp5jRCCplEc/27cptj
-----END PRIVATE KEY-----
`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBsTCCAVigAwIBAgIUXu1bPayIYmqe3s5iObT0VslryA0wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNjE2NDAyMloYDzIxMjYxMTEy
MTY0MDIyWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAT4S2Zd9J/eB4eQWyKaFAKGW7crjgex2kan8nxQft63B1emPC+/RdX8
eXfj1An6p5e8pVWp5jRCCplEc/27cptjo4GFMIGCMB0GA1UdDgQWBBTp1A5FmCzd
Y7XdU8rbcAOVPkATgzAfBgNVHSMEGDAWgBTp1A5FmCzdY7XdU8rbcAOVPkATgzAP
BgNVHRMBAf8EBTADAQH/MC8GA1UdEQQoMCaCCWxvY2FsaG9zdIITaG9va3MuaW50
ZXJuYWwudGVzdIcEfwAAATAKBggqhkjOPQQDAgNHADBEAiBbRaOR81S3Ng7Rv0fI
/8mKCvTK6ZUG2WbfTJVInUxCOQIgQV7eJCMmqPCFQJhLI7VB40QGT5XBSilQnO1k
ylmNupc=
-----END CERTIFICATE-----
`;

const SECRET = 'c2hoaGgtdGhpcy1pcy1hLXRlc3Qtc2VjcmV0';
const EVENT = JSON.stringify({
  specversion: '1.0',
  id: '0b9d2c1e-0000-4000-8000-000000000001',
  type: 'order.placed',
  source: 'shop/orders',
  data: { note: 'café ☕, naïve — exact bytes' },
});
const MiB = 1024 * 1024;

interface Received {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface TestServer {
  /** http(s)://127.0.0.1:<port> */
  origin: string;
  port: number;
  received: Received[];
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
const clients: PushClient[] = [];

/** A real server on 127.0.0.1, an ephemeral port; the handler runs once the request body is read. */
async function serve(handler: Handler, tls = false): Promise<TestServer> {
  const received: Received[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      handler(req, res);
    });
  };
  const server = tls ? createTlsServer({ key: TLS_KEY, cert: TLS_CERT }, listener) : createServer(listener);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, received };
}

/** A port nothing listens on: one just freed. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function client(options: Partial<PushClientOptions> & { allow?: string } = {}): PushClient {
  const { allow = 'http://127.0.0.1:*,https://127.0.0.1:*', ...rest } = options;
  const pushClient = new PushClient({ allowList: UrlAllowList.parse(allow), ...rest });
  clients.push(pushClient);
  return pushClient;
}

/** The failure a delivery settles with (fails the test if it was delivered). */
async function failureOf(delivery: Promise<unknown>): Promise<PushFailure> {
  const outcome = await delivery.then(
    (result) => ({ delivered: result }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.delivered)}`);
  expect(outcome.error).toBeInstanceOf(PushFailure);
  return outcome.error as PushFailure;
}

/** How long `work` takes to settle, counted from before it starts. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; outcome: PromiseSettledResult<T> }> {
  const started = performance.now();
  const [outcome] = await Promise.allSettled([work()]);
  return { ms: performance.now() - started, outcome };
}

/** Answers every name with these addresses, recording the questions. */
function fakeDns(...addresses: string[]): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string) => {
    asked.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

const delivery = (url: string, extra: { headers?: Record<string, string> } = {}) => ({
  url,
  secret: SECRET,
  body: EVENT,
  ...extra,
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((pushClient) => pushClient.destroy()));
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

describe('signBody / verifySignature', () => {
  it('is sha256= and the hex HMAC-SHA256 of the raw bytes, checked in constant time', () => {
    const header = signBody('secret', 'hello');
    expect(header).toBe('sha256=88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b');
    expect(signBody('secret', Buffer.from('hello'))).toBe(header);
    expect(verifySignature('secret', 'hello', header)).toBe(true);
    expect(verifySignature('secret', 'hello', header.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(verifySignature('secret', 'hello ', header)).toBe(false);
    expect(verifySignature('other', 'hello', header)).toBe(false);
    expect(verifySignature('secret', 'hello', header.slice(0, -1))).toBe(false);
    expect(verifySignature('secret', 'hello', header.replace('sha256=', 'sha1='))).toBe(false);
    expect(verifySignature('secret', 'hello', undefined)).toBe(false);
    expect(verifySignature('secret', 'hello', [header])).toBe(false);
  });
});

describe('PushClient', () => {
  it('delivers on a 2xx: the exact body, signed, with the CloudEvents content type and the caller headers', async () => {
    const server = await serve((_req, res) => res.writeHead(204).end());
    const result = await client().deliver(
      delivery(`${server.origin}/hooks/shop?token=abc`, {
        headers: {
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          'ce-id': '0b9d2c1e-0000-4000-8000-000000000001',
          // Ours win: a caller cannot forge the signature or change the framing.
          'X-Signature': 'sha256=forged',
          'Content-Type': 'text/plain',
          'Content-Length': '1',
        },
      }),
    );

    expect(result.status).toBe(204);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(server.received).toHaveLength(1);
    const [request] = server.received;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hooks/shop?token=abc');
    expect(request.body.equals(Buffer.from(EVENT, 'utf8'))).toBe(true);
    expect(request.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(request.headers['user-agent']).toBe('shop-bridge');
    expect(request.headers['traceparent']).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(request.headers['ce-id']).toBe('0b9d2c1e-0000-4000-8000-000000000001');
    expect(request.headers['x-signature']).toBe(signBody(SECRET, EVENT));
    expect(verifySignature(SECRET, request.body, request.headers['x-signature'])).toBe(true);
  });

  it('signs and sends bytes as they are', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end('ok'));
    const bytes = new Uint8Array(Buffer.from(`xx${EVENT}yy`)).subarray(2, 2 + Buffer.byteLength(EVENT));
    await client().deliver({ url: `${server.origin}/`, secret: SECRET, body: bytes });
    expect(server.received[0].body.equals(Buffer.from(EVENT))).toBe(true);
    expect(verifySignature(SECRET, EVENT, server.received[0].headers['x-signature'])).toBe(true);
  });

  it('fails a 500 as http-status, quoting the start of the answer', async () => {
    const server = await serve((_req, res) =>
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}\n'),
    );
    const failure = await failureOf(client().deliver(delivery(`${server.origin}/hook?token=secret`)));
    expect(failure.reason).toBe('http-status');
    expect(failure.status).toBe(500);
    // The query may hold a token: never in a message.
    expect(failure.message).toBe(`${server.origin}/hook: 500: {"error":"boom"}`);
  });

  it('never follows a redirect: a 3xx fails, and its target is not contacted', async () => {
    const elsewhere = await serve((_req, res) => res.writeHead(200).end());
    const server = await serve((_req, res) => res.writeHead(302, { location: `${elsewhere.origin}/inside` }).end());
    const failure = await failureOf(client().deliver(delivery(`${server.origin}/hook`)));
    expect(failure.reason).toBe('redirect');
    expect(failure.status).toBe(302);
    expect(failure.location).toBe(`${elsewhere.origin}/inside`);
    expect(failure.message).toContain(`redirect to ${elsewhere.origin}/inside refused (302)`);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('times out a server that never answers, at the deadline', async () => {
    const server = await serve(() => undefined);
    const { ms, outcome } = await timed(() => client({ timeoutMs: 300 }).deliver(delivery(`${server.origin}/`)));
    const failure = await failureOf(Promise.reject((outcome as PromiseRejectedResult).reason));
    expect(failure.reason).toBe('timeout');
    expect(failure.message).toContain('no answer within 300 ms');
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1_000);
  });

  it('times out a server that sends headers and then stalls, for a non-2xx quoting what came', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(503);
      res.write('busy, ');
    });
    const { ms, outcome } = await timed(() => client({ timeoutMs: 300 }).deliver(delivery(`${server.origin}/`)));
    const failure = await failureOf(Promise.reject((outcome as PromiseRejectedResult).reason));
    expect(failure.reason).toBe('http-status');
    expect(failure.message).toContain('503: busy,');
    expect(ms).toBeLessThan(1_000);
  });

  it('counts a 2xx whose body trickles as delivered, and cuts the body at the deadline', async () => {
    let closed = false;
    const server = await serve((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 20);
      res.on('close', () => {
        clearInterval(timer);
        closed = true;
      });
    });
    const { ms, outcome } = await timed(() => client({ timeoutMs: 300 }).deliver(delivery(`${server.origin}/`)));
    expect(outcome).toMatchObject({ status: 'fulfilled', value: { status: 200 } });
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1_000);
    await waitFor(() => closed);
  });

  it('reads no more than maxResponseBytes of a 10 MiB answer sent slowly: delivered at once, the socket cut', async () => {
    const sent = { bytes: 0, closed: false };
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const write = () => {
        if (sent.bytes >= 10 * MiB) {
          res.end();
          return;
        }
        res.write(chunk);
        sent.bytes += chunk.length;
      };
      write();
      const timer = setInterval(write, 20);
      res.on('close', () => {
        clearInterval(timer);
        sent.closed = true;
      });
    });
    // All 10 MiB at this pace would take over 3 s.
    const { ms, outcome } = await timed(() => client({ timeoutMs: 5_000 }).deliver(delivery(`${server.origin}/`)));
    expect(outcome).toMatchObject({ status: 'fulfilled', value: { status: 200 } });
    expect(ms).toBeLessThan(1_000);
    await waitFor(() => sent.closed);
    expect(sent.bytes).toBeLessThan(1 * MiB);
  });

  it('does not read a body announced larger than maxResponseBytes, 2xx or not', async () => {
    const big = Buffer.alloc(10 * MiB, 'x');
    const ok = await serve((_req, res) => res.writeHead(200, { 'content-length': big.length }).end(big));
    const failing = await serve((_req, res) => res.writeHead(500, { 'content-length': big.length }).end(big));
    const pushClient = client({ maxResponseBytes: 1024 });

    const delivered = await timed(() => pushClient.deliver(delivery(`${ok.origin}/`)));
    expect(delivered.outcome).toMatchObject({ status: 'fulfilled', value: { status: 200 } });
    expect(delivered.ms).toBeLessThan(500);

    const failure = await failureOf(pushClient.deliver(delivery(`${failing.origin}/`)));
    expect(failure.reason).toBe('http-status');
    expect(failure.message).toContain(`500: (a body of ${big.length} bytes, not read)`);
  });

  it('fails a self-signed certificate as tls: verification stays on', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end(), true);
    const failure = await failureOf(client().deliver(delivery(`${server.origin}/`)));
    expect(failure.reason).toBe('tls');
    expect(failure.message).toMatch(/self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect(server.received).toHaveLength(0);
  });

  it('delivers over TLS to a certificate trusted through `ca`, checking the name it was asked for', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end(), true);
    expect(await client({ ca: TLS_CERT }).deliver(delivery(`${server.origin}/`))).toMatchObject({ status: 200 });

    // The certificate is not for this name, whatever address the name resolves to.
    const misnamed = client({ ca: TLS_CERT, allow: 'https://hooks.other.test:*', resolve: fakeDns('127.0.0.1') });
    const failure = await failureOf(misnamed.deliver(delivery(`https://hooks.other.test:${server.port}/`)));
    expect(failure.reason).toBe('tls');
    expect(failure.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('fails TLS to a server that does not speak it as tls', async () => {
    const plain = await serve((_req, res) => res.writeHead(200).end());
    const failure = await failureOf(client().deliver(delivery(`https://127.0.0.1:${plain.port}/`)));
    expect(failure.reason).toBe('tls');
    expect(failure.message).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/: TLS: wrong version number \(ERR_SSL_WRONG_VERSION_NUMBER\)$/,
    );
  });

  it('fails a refused connection as connection', async () => {
    const port = await closedPort();
    const failure = await failureOf(client().deliver(delivery(`http://127.0.0.1:${port}/`)));
    expect(failure.reason).toBe('connection');
    expect(failure.message).toContain('ECONNREFUSED');
  });

  it('fails an unknown host as connection', async () => {
    const dns: Resolver = async (hostname) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    };
    const pushClient = client({ allow: 'http://*.example.test', resolve: dns });
    const failure = await failureOf(pushClient.deliver(delivery('http://nowhere.example.test/')));
    expect(failure.reason).toBe('connection');
    expect(failure.message).toContain('ENOTFOUND nowhere.example.test');
  });

  it('refuses a URL outside the allow-list before any request', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end());
    const failure = await failureOf(
      client({ allow: 'https://hooks.example.com' }).deliver(delivery(`${server.origin}/`)),
    );
    expect(failure.reason).toBe('not-allowed');
    expect(failure.message).toBe(`${server.origin} is not in the allow-list (BRIDGE_SUBSCRIBER_ALLOWLIST)`);
    expect(server.received).toHaveLength(0);
  });

  describe('SSRF: the addresses a host resolves to', () => {
    it('refuses a wildcard-allowed host resolving to 127.0.0.1 (DNS rebinding), without connecting', async () => {
      const server = await serve((_req, res) => res.writeHead(200).end());
      const dns = fakeDns('127.0.0.1');
      const pushClient = client({ allow: 'http://*.example.test:*', resolve: dns });
      const failure = await failureOf(pushClient.deliver(delivery(`http://hooks.example.test:${server.port}/`)));
      expect(failure.reason).toBe('refused-address');
      expect(failure.message).toContain('hooks.example.test is 127.0.0.1 (loopback)');
      expect(dns.asked).toEqual(['hooks.example.test']);
      expect(server.received).toHaveLength(0);
    });

    it('refuses a host with any internal address among public ones', async () => {
      const server = await serve((_req, res) => res.writeHead(200).end());
      const pushClient = client({
        allow: 'http://*.example.test:*',
        resolve: fakeDns('203.0.113.7', '169.254.169.254'),
      });
      const failure = await failureOf(pushClient.deliver(delivery(`http://hooks.example.test:${server.port}/`)));
      expect(failure.reason).toBe('refused-address');
      expect(failure.message).toContain('169.254.169.254 (link-local)');
      expect(server.received).toHaveLength(0);
    });

    it('connects to an internal address when the allow-list names the host literally, resolving each connection', async () => {
      const server = await serve((_req, res) => res.writeHead(200, { connection: 'close' }).end());
      const dns = fakeDns('127.0.0.1');
      const pushClient = client({ allow: 'http://hooks.internal.test:*', resolve: dns });
      const url = `http://hooks.internal.test:${server.port}/`;
      expect(await pushClient.deliver(delivery(url))).toMatchObject({ status: 200 });
      expect(await pushClient.deliver(delivery(url))).toMatchObject({ status: 200 });
      expect(server.received[0].headers.host).toBe(`hooks.internal.test:${server.port}`);
      // No cache between the answer checked and the address connected to: one lookup per new connection.
      expect(dns.asked).toEqual(['hooks.internal.test', 'hooks.internal.test']);
    });
  });

  describe('isolation', () => {
    it("a hanging subscriber does not delay another subscription's deliveries, even to the same origin", async () => {
      const server = await serve((req, res) => {
        if (req.url !== '/slow') res.writeHead(204).end();
      });
      const slow = client({ connections: 1, timeoutMs: 5_000 });
      const fast = client({ connections: 1, timeoutMs: 5_000 });
      const hanging = [1, 2, 3].map(() => slow.deliver(delivery(`${server.origin}/slow`)));
      const settled = Promise.allSettled(hanging);
      let slowSettled = false;
      void settled.then(() => (slowSettled = true));
      await waitFor(() => server.received.length >= 1);

      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { ms, outcome } = await timed(() => fast.deliver(delivery(`${server.origin}/fast`)));
        expect(outcome).toMatchObject({ status: 'fulfilled', value: { status: 204 } });
        latencies.push(ms);
      }
      expect(Math.max(...latencies)).toBeLessThan(250);
      expect(slowSettled).toBe(false);

      // Removing the hanging subscription fails its deliveries at once.
      const destroyed = await timed(() => slow.destroy().then(() => settled));
      expect(destroyed.ms).toBeLessThan(500);
      const reasons = (await settled).map((result) => ((result as PromiseRejectedResult).reason as PushFailure).reason);
      expect(reasons).toEqual(['aborted', 'aborted', 'aborted']);
    });

    it('(control) within one subscription, a delivery queued behind a hanging one waits for a socket', async () => {
      const server = await serve((req, res) => {
        if (req.url !== '/slow') res.writeHead(204).end();
      });
      const shared = client({ connections: 1, timeoutMs: 300 });
      void shared.deliver(delivery(`${server.origin}/slow`)).catch(() => undefined);
      const { ms } = await timed(() => shared.deliver(delivery(`${server.origin}/fast`)));
      // Normally a few milliseconds: here it waited for the hanging delivery's deadline (300 ms).
      expect(ms).toBeGreaterThanOrEqual(200);
    });
  });

  describe('lifecycle', () => {
    it('a delivery cancelled by its caller fails as aborted', async () => {
      const server = await serve(() => undefined);
      const controller = new AbortController();
      const pending = client().deliver(delivery(`${server.origin}/`), controller.signal);
      await waitFor(() => server.received.length === 1);
      controller.abort(new Error('shutting down'));
      const failure = await failureOf(pending);
      expect(failure.reason).toBe('aborted');
    });

    it('close() lets deliveries in flight finish, and refuses new ones', async () => {
      const server = await serve((_req, res) => setTimeout(() => res.writeHead(200).end(), 100));
      const pushClient = client();
      const inFlight = pushClient.deliver(delivery(`${server.origin}/`));
      await waitFor(() => server.received.length === 1);
      const closing = pushClient.close();
      expect(await inFlight).toMatchObject({ status: 200 });
      await closing;
      const failure = await failureOf(pushClient.deliver(delivery(`${server.origin}/`)));
      expect(failure.reason).toBe('aborted');
      expect(failure.message).toContain('closed');
    });
  });
});

/** Polls a condition every 10 ms, for 2 s at most. */
async function waitFor(condition: () => boolean): Promise<void> {
  const until = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
