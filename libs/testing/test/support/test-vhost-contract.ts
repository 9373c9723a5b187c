import { connect, type ChannelModel } from 'amqplib';
import { waitFor, type BrokerAdmin, type TestBroker } from '../../src';

export interface VhostFixture {
  /** The broker's URL on its default vhost. */
  brokerUrl: string;
  createTestVhost(label: string): Promise<TestBroker>;
  /** What administers the vhosts, for its listings. */
  admin: BrokerAdmin;
}

interface TrackedConnection {
  connection: ChannelModel;
  closed: () => boolean;
}

/** What every way of administering the broker must guarantee about test vhosts. */
export function describeTestVhostContract(fixture: () => VhostFixture | Promise<VhostFixture>): void {
  let env: VhostFixture;
  const brokers: TestBroker[] = [];
  const connections: ChannelModel[] = [];

  const vhost = async (label: string) => {
    const broker = await env.createTestVhost(label);
    brokers.push(broker);
    return broker;
  };
  const open = async (url: string): Promise<TrackedConnection> => {
    const connection = await connect(url);
    connections.push(connection);
    let closed = false;
    connection.on('error', () => undefined); // a forced close is reported as an error, then 'close'
    connection.on('close', () => (closed = true));
    return { connection, closed: () => closed };
  };

  beforeAll(async () => {
    env = await fixture();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(brokers.splice(0).map((b) => b.delete()));
  }, 30_000);

  it('gives a vhost the URL user can use: declare a queue, publish, get', async () => {
    const broker = await vhost('usable');
    const { connection } = await open(broker.url);
    const channel = await connection.createChannel();
    await channel.assertQueue('greetings', { durable: true });
    channel.sendToQueue('greetings', Buffer.from('hello'));

    const message = await waitFor(() => channel.get('greetings', { noAck: true }), { description: 'the message back' });
    expect(message.content.toString()).toBe('hello');
  }, 30_000);

  it('keeps two vhosts apart: a queue of one does not exist in the other', async () => {
    const [one, other] = await Promise.all([vhost('one'), vhost('other')]);
    const inOne = await (await open(one.url)).connection.createChannel();
    await inOne.assertQueue('private-queue');

    const inOther = await (await open(other.url)).connection.createChannel();
    inOther.on('error', () => undefined);
    await expect(inOther.checkQueue('private-queue')).rejects.toThrow(/NOT_FOUND/);
  }, 30_000);

  it('closes every connection of the vhost and none of the default vhost', async () => {
    const broker = await vhost('close');
    const mine = [await open(broker.url), await open(broker.url)];
    const bystander = await open(env.brokerUrl);

    await broker.closeAllConnections();

    await waitFor(() => mine.every((c) => c.closed()), { timeoutMs: 2_000, description: 'both connections closed' });
    expect(bystander.closed()).toBe(false);
    const channel = await bystander.connection.createChannel();
    await channel.close();

    // The vhost itself stays: the service under test can reconnect.
    await open(broker.url);
  }, 60_000);

  it('returns once the connections it closed are gone, though the client reconnects at once', async () => {
    const broker = await vhost('reconnect');
    const first = await open(broker.url);
    let reconnected: TrackedConnection | undefined;
    first.connection.once('close', () => {
      // Once, as a recovering client would; the vhost may be gone by then (after the test).
      void open(broker.url).then(
        (again) => (reconnected = again),
        () => undefined,
      );
    });

    await broker.closeAllConnections();

    expect(first.closed()).toBe(true);
    const again = await waitFor(() => reconnected, { timeoutMs: 5_000, description: 'the reconnected client' });
    expect(again.closed()).toBe(false);
  }, 60_000);

  it("lists the vhost's queues with their messages, its bindings and its connections, and no other vhost's", async () => {
    const broker = await vhost('listings');
    const { connection } = await open(broker.url);
    await open(env.brokerUrl); // a bystander on the default vhost
    const channel = await connection.createChannel();
    await channel.assertExchange('events', 'topic', { durable: false });
    await channel.assertQueue('work', { durable: false });
    await channel.bindQueue('work', 'events', 'order.*');
    for (const n of [1, 2, 3]) channel.publish('events', 'order.placed', Buffer.from(String(n)));
    await waitFor(async () => (await channel.checkQueue('work')).messageCount === 3, { description: '3 messages' });
    await channel.get('work', { noAck: false }); // one unacknowledged, two ready

    // Over the management API the counts come with the next statistics tick (5 s by default).
    const queues = await waitFor(
      async () => {
        const listed = await env.admin.listQueues(broker.vhost);
        return listed.some((queue) => queue.unacked === 1) && listed;
      },
      { timeoutMs: 15_000, intervalMs: 250, description: 'the queue with an unacknowledged message listed' },
    );
    expect(queues).toEqual([{ name: 'work', messages: 3, ready: 2, unacked: 1 }]);

    const bindings = await env.admin.listBindings(broker.vhost);
    expect(bindings).toEqual(
      expect.arrayContaining([
        { source: 'events', destination: 'work', destinationKind: 'queue', routingKey: 'order.*' },
        { source: '', destination: 'work', destinationKind: 'queue', routingKey: 'work' },
      ]),
    );
    expect(bindings).toHaveLength(2);

    const user = decodeURIComponent(new URL(broker.url).username) || 'guest';
    expect(await env.admin.listConnections(broker.vhost)).toEqual([
      { name: expect.any(String), user, vhost: broker.vhost },
    ]);
  }, 30_000);

  it('deletes the vhost: its URL no longer connects, and deleting twice is harmless', async () => {
    const broker = await vhost('delete');
    const before = await open(broker.url);

    await broker.delete();

    await waitFor(() => before.closed(), { timeoutMs: 5_000, description: 'the open connection closed by the delete' });
    await expect(connect(broker.url)).rejects.toThrow();
    await broker.delete();
  }, 30_000);
}
