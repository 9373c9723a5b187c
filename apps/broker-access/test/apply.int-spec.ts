import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { APP_NAMES, OrderPlaced, serializeEvent } from '@shop/contracts';
import { createTestVhost, type TestBroker } from '@shop/testing';
import { passwordSetting, runCli } from '../src/cli';

// `apply` runs this machine's rabbitmqctl; a broker in a container (RABBITMQ_MANAGEMENT_URL set by the
// testcontainers path) has none beside it. The definitions themselves are tested on both paths (e2e).
const local = !process.env['RABBITMQ_MANAGEMENT_URL'];

(local ? describe : describe.skip)('broker-access apply (rabbitmqctl on this machine)', () => {
  let broker: TestBroker;
  const passwords = Object.fromEntries(APP_NAMES.map((app) => [app, randomBytes(16).toString('hex')]));

  beforeAll(async () => {
    broker = await createTestVhost('broker access apply');
  });
  afterAll(() => broker?.delete());

  it('creates the users on the vhost, and each may publish only its own events', async () => {
    const prefix = `${broker.vhost}-`;
    broker.adoptUsers(APP_NAMES.map((app) => `${prefix}${app}`));
    const env = Object.fromEntries(APP_NAMES.map((app) => [passwordSetting(app), passwords[app]]));
    runCli(['apply', '--vhost', broker.vhost, '--user-prefix', prefix], {
      env,
      stdout: () => undefined,
      stderr: () => undefined,
    });

    const orders = await connect(broker.urlAs(`${prefix}orders`, passwords['orders']));
    try {
      const channel = await orders.createConfirmChannel();
      const event = OrderPlaced.create({
        orderId: '00000000-0000-4000-8000-000000000001',
        customerId: 'c-1',
        items: [{ sku: 'SKU-1', quantity: 1 }],
        paymentToken: 'tok_visa',
      });
      channel.publish('orders', 'order.placed', serializeEvent(event), { userId: `${prefix}orders` });
      await channel.waitForConfirms();
    } finally {
      await orders.close();
    }
    await expect(connect(broker.urlAs(`${prefix}orders`, 'wrong-password'))).rejects.toThrow(/ACCESS_REFUSED|403/);
  });
});
