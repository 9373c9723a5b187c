import {
  createTestCertificates,
  createTestDatabase,
  startPrivateBroker,
  waitFor,
  type PrivateBroker,
  type TestCertificates,
  type TestDatabase,
} from '@shop/testing';
import type { MessagingOptions } from '../src';
import { orderPlaced } from './support/events';
import { sleep, startApp, type RunningApp } from './support/harness';
import { Probe, RESERVATIONS_TABLE, ReserveStockOnOrderPlaced } from './support/stock-handler';

/** `url` with another host name, same port: the name the client checks the certificate against. */
function at(url: string, hostname: string): string {
  const copy = new URL(url);
  copy.hostname = hostname;
  return copy.toString();
}

describe('TLS to the broker', () => {
  let certs: TestCertificates;
  /** TLS only, certificate of `certs.server` (localhost, 127.0.0.1), a client certificate required. */
  let broker: PrivateBroker;
  /** TLS only, certificate of `certs.otherServer`: another CA, valid for `localhost` only. */
  let otherBroker: PrivateBroker;
  let ordersDatabase: TestDatabase;
  let inventoryDatabase: TestDatabase;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    certs = await createTestCertificates();
    // allSettled: whatever did start is there for afterAll to stop, even when something else failed.
    const started = await Promise.allSettled([
      startPrivateBroker('tls', {
        tls: { ca: certs.ca.cert, cert: certs.server.cert, key: certs.server.key, client: certs.client },
      }).then((b) => (broker = b)),
      startPrivateBroker('tls-other', {
        tls: { ca: certs.otherCa.cert, cert: certs.otherServer.cert, key: certs.otherServer.key },
      }).then((b) => (otherBroker = b)),
      createTestDatabase('tls_orders').then((d) => (ordersDatabase = d)),
      createTestDatabase('tls_inventory').then((d) => (inventoryDatabase = d)),
    ]);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(apps.map((app) => app.close()));
    await Promise.allSettled([broker?.stop(), otherBroker?.stop(), ordersDatabase?.drop(), inventoryDatabase?.drop()]);
    await certs?.remove();
  }, 60_000);

  /** An app of the library started with `messaging`, connected or not. */
  async function app(
    app: 'orders' | 'inventory',
    messaging: Partial<MessagingOptions> & { url: string },
    waitForConnection = true,
  ): Promise<RunningApp> {
    const running = await startApp({
      app,
      brokerUrl: messaging.url,
      databaseUrl: (app === 'orders' ? ordersDatabase : inventoryDatabase).url,
      handlers: app === 'inventory' ? [ReserveStockOnOrderPlaced] : [],
      providers: app === 'inventory' ? [Probe] : [],
      messaging: { reconnect: { initialDelayMs: 100, maxDelayMs: 500 }, ...messaging },
      waitForConnection,
    });
    apps.push(running);
    return running;
  }

  /** Starts an app the broker should refuse: it never reports connected; resolves with its last error. */
  async function refused(messaging: Partial<MessagingOptions> & { url: string }): Promise<string> {
    const running = await app('orders', messaging, false);
    try {
      // Some failed attempts, not just the first: it keeps retrying and never gets in.
      const error = await waitFor(() => running.messaging.status().lastError, {
        timeoutMs: 20_000,
        description: 'a failed connection attempt',
      });
      await sleep(1_000);
      expect(running.messaging.status().connected).toBe(false);
      return running.messaging.status().lastError ?? error;
    } finally {
      await running.close();
      apps.splice(apps.indexOf(running), 1);
    }
  }

  it('publishes and consumes through amqps:// with the CA and a client certificate (its key encrypted or not)', async () => {
    const url = broker.tlsUrl ?? '';
    // The broker has no plain listener: whatever gets through went over TLS. The certificate names
    // localhost and 127.0.0.1; one app checks each.
    const inventory = await app('inventory', {
      url: at(url, 'localhost'),
      tls: {
        ca: certs.ca.cert,
        cert: certs.client.cert,
        key: certs.encryptedClientKey.key,
        passphrase: certs.encryptedClientKey.passphrase,
      },
      outbox: { unroutableAllowed: ['inventory.reserved'] },
    });
    await inventory.dataSource.query(RESERVATIONS_TABLE);
    const orders = await app('orders', {
      url: at(url, '127.0.0.1'),
      tls: { ca: Buffer.from(certs.ca.cert), cert: certs.client.cert, key: certs.client.key },
    });

    const event = orderPlaced();
    await orders.outbox.transaction((tx) => orders.outbox.publish(tx, event));

    const probe = inventory.module.get(Probe);
    await waitFor(() => probe.calls.some((call) => call.event.data.orderId === event.data.orderId), {
      timeoutMs: 15_000,
      description: 'order.placed consumed by inventory',
    });
    expect(orders.messaging.status()).toMatchObject({ connected: true, lastError: undefined });
    expect(inventory.messaging.status()).toMatchObject({ connected: true, lastError: undefined });
  });

  it('is refused over plain amqp://: the broker takes TLS only', async () => {
    const tls = new URL(broker.tlsUrl ?? '');
    // Plain AMQP to the TLS port (the broker hangs up on what is no TLS handshake), and to the plain
    // port, where nothing listens.
    expect(await refused({ url: `amqp://guest:guest@${tls.host}` })).toMatch(/ECONNRESET|closed/);
    expect(await refused({ url: broker.url })).toMatch(/ECONNREFUSED|ECONNRESET|closed/);
  });

  it('is refused by a client that does not trust the CA of the broker certificate', async () => {
    const url = at(otherBroker.tlsUrl ?? '', 'localhost'); // a name the certificate holds: only its CA is wrong
    // The broker sends its chain up to its (untrusted) root.
    expect(await refused({ url, tls: { ca: certs.ca.cert } })).toMatch(/self-signed certificate in certificate chain/);
    // Without a CA, Node's bundled ones: no better.
    expect(await refused({ url })).toMatch(/self-signed certificate in certificate chain/);
  });

  it('is refused by the broker without a client certificate', async () => {
    const error = await refused({ url: broker.tlsUrl ?? '', tls: { ca: certs.ca.cert } });
    expect(error).toMatch(/alert certificate required/);
  });

  it('is refused when the broker certificate does not name the host of the URL', async () => {
    // Trusted CA, but the certificate names localhost only.
    const error = await refused({ url: at(otherBroker.tlsUrl ?? '', '127.0.0.1'), tls: { ca: certs.otherCa.cert } });
    expect(error).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID.*IP: 127.0.0.1 is not in the cert's list/);
  });

  it('connects to that broker under the name its certificate holds', async () => {
    const other = await app('orders', {
      url: at(otherBroker.tlsUrl ?? '', 'localhost'),
      tls: { ca: certs.otherCa.cert },
    });
    expect(other.messaging.status().connected).toBe(true);
  });

  it('with several nodes in the URL, checks each node`s certificate against its own host name', async () => {
    // One broker under two names: its certificate holds localhost only, so the first node is refused
    // (the name check is done per node) and the app moves on to the second.
    const port = new URL(otherBroker.tlsUrl ?? '').port;
    const other = await app('orders', {
      url: `amqps://guest:guest@127.0.0.1:${port},localhost:${port}`,
      tls: { ca: certs.otherCa.cert },
      firstNode: 'first',
    });
    expect(other.messaging.status()).toMatchObject({ connected: true, node: `localhost:${port}`, nodes: 2 });
  });
});
