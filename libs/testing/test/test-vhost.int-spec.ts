import { connect, type ChannelModel } from 'amqplib';
import { brokerAdminFromEnv, createTestVhost, type TestBroker } from '../src';
import { describeTestVhostContract } from './support/test-vhost-contract';

describe('createTestVhost (administered with rabbitmqctl, or the management API when RABBITMQ_MANAGEMENT_URL is set)', () => {
  describeTestVhostContract(() => ({
    brokerUrl: process.env['RABBITMQ_URL'] as string,
    createTestVhost: (label) => createTestVhost(label),
    admin: brokerAdminFromEnv(),
  }));
});

describe('createTestVhost on the default broker', () => {
  let broker: TestBroker;
  let connection: ChannelModel | undefined;

  beforeAll(async () => {
    broker = await createTestVhost('url');
  }, 30_000);
  afterAll(async () => {
    await connection?.close().catch(() => undefined);
    await broker?.delete();
  }, 30_000);

  it('names the vhost test-<label>-<random> and puts it, URL-encoded, in the URL path', async () => {
    expect(broker.vhost).toMatch(/^test-url-[0-9a-f]{8}$/);
    expect(new URL(broker.url).pathname).toBe(`/${encodeURIComponent(broker.vhost)}`);
    connection = await connect(broker.url);
    expect(connection).toBeDefined();
  });
});
