import { createServer, connect, type Server, type Socket } from 'node:net';
import { createTestDatabase, createTestVhost, type TestBroker, type TestDatabase } from '@shop/testing';
import { startApp, type RunningApp } from './support/harness';
import { Probe, ReserveStockOnOrderPlaced } from './support/stock-handler';

/**
 * A node of the broker URL that fails in the ways a cluster node does while it dies or starts: it
 * accepts TCP and never speaks AMQP (a node booting, a half-dead host), or it opens the connection and
 * resets it a moment later, while the app declares its topology. amqplib's recovery waits for the
 * connect and for the app's setup before it tries again: the app must not wait forever on either,
 * and goes on to the next node.
 */
describe('a broker node that accepts a connection and then fails it', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let app: RunningApp | undefined;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('failover'), createTestDatabase('failover')]);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  afterAll(async () => {
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  /** The test vhost's URL naming `first` (host:port), then the real broker. */
  const urlWith = (first: string): string => {
    const url = new URL(broker.url);
    return `${url.protocol}//${url.username}:${url.password}@${first},${url.host}${url.pathname}`;
  };

  const listen = async (onSocket: (socket: Socket) => void): Promise<string> => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      onSocket(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return `127.0.0.1:${address.port}`;
  };

  const start = (brokerUrl: string) =>
    startApp({
      app: 'inventory',
      brokerUrl,
      databaseUrl: database.url,
      handlers: [ReserveStockOnOrderPlaced],
      providers: [Probe],
      messaging: {
        firstNode: 'first',
        reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
        connectTimeoutMs: 1_000,
        setupTimeoutMs: 2_000,
      },
    });

  it('gives up on a node that accepts TCP and never answers, and connects to the next', async () => {
    const silent = await listen(() => undefined);
    app = await start(urlWith(silent));
    const real = new URL(broker.url).host;
    expect(app.messaging.status()).toMatchObject({ connected: true, node: real, nodes: 2 });
    // it did try the silent node first
    expect(sockets.size).toBeGreaterThanOrEqual(1);
  });

  it.each([1, 3, 10, 30])(
    'gives up on a node that resets the connection at its %i. reply after opening it (the setup running), and connects to the next',
    async (cutAtReply) => {
      const real = new URL(broker.url);
      let cuts = 0;
      // A proxy to the real broker that resets the client's socket (RST) at the broker's cutAtReply-th
      // method frame after connection.open-ok (channel.open-ok, exchange.declare-ok, ...: the app's
      // setup), every time: only the next node can serve.
      const proxy = await listen((client) => {
        const upstream = connect(Number(real.port), real.hostname);
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        let replies = -1; // counting from the open-ok
        upstream.on('data', (chunk: Buffer) => {
          if (client.destroyed) return;
          for (const method of methodFrames(chunk)) {
            if (replies < 0 && method === '10/41') replies = 0;
            else if (replies >= 0) replies++;
          }
          if (replies >= cutAtReply) {
            cuts++;
            client.resetAndDestroy();
            upstream.destroy();
            return;
          }
          client.write(chunk);
        });
      });
      app = await start(urlWith(proxy));
      expect(cuts).toBeGreaterThanOrEqual(1);
      expect(app.messaging.status()).toMatchObject({ connected: true, node: real.host });
    },
  );
});

/**
 * The AMQP methods (`class/method`) of the method frames in `chunk`, which starts at a frame (the
 * broker's replies to a client that waits for each are whole frames, one or a few per chunk).
 */
function methodFrames(chunk: Buffer): string[] {
  const methods: string[] = [];
  for (let i = 0; i + 11 <= chunk.length; ) {
    const size = chunk.readUInt32BE(i + 3);
    if (chunk[i] === 1) methods.push(`${chunk.readUInt16BE(i + 7)}/${chunk.readUInt16BE(i + 9)}`);
    i += 7 + size + 1;
  }
  return methods;
}
