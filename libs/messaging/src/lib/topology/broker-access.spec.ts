import { createHash } from 'node:crypto';
import { APP_NAMES, EVENTS, PRODUCER_NAMES, publisherOf } from '@shop/contracts';
import { brokerPermissions, brokerUserPrefix, rabbitmqDefinitions, rabbitmqPasswordHash } from './broker-access';
import { Topology } from './topology';

const matches = (pattern: string, name: string) => new RegExp(pattern).test(name);

describe('brokerPermissions', () => {
  const payments = brokerPermissions('payments');

  it('lets an app configure and write only its own names', () => {
    for (const name of [
      Topology.exchange('payments'),
      Topology.delayExchange('payments'),
      Topology.retryExchange('payments'),
      Topology.deadLetterExchange('payments'),
      'payments.charge-on-inventory-reserved',
      'payments.charge-on-inventory-reserved.dlq',
      Topology.delayQueue('payments', 1000),
    ]) {
      expect(matches(payments.configure, name)).toBe(true);
      expect(matches(payments.write, name)).toBe(true);
    }
    for (const name of [
      'orders',
      'inventory.reserve-stock',
      'paymentsx',
      'amq.default',
      'amq.topic',
      '',
      'x.payments',
    ]) {
      expect(matches(payments.configure, name)).toBe(false);
      expect(matches(payments.write, name)).toBe(false);
    }
  });

  it('lets an app read its own names and the exchanges of the events it consumes, no others', () => {
    expect(matches(payments.read, 'payments.charge.dlq')).toBe(true);
    expect(matches(payments.read, 'orders')).toBe(true); // order.placed, order.cancelled
    expect(matches(payments.read, 'inventory')).toBe(true); // inventory.reserved
    expect(matches(payments.read, 'notifications')).toBe(false);
    expect(matches(payments.read, 'inventory.reserve-stock')).toBe(false);
    expect(matches(payments.read, 'orders.saga')).toBe(false);
  });

  it('limits the routing keys an app publishes to the events it owns', () => {
    const own = payments.topics.find((t) => t.exchange === 'payments');
    for (const type of ['payment.captured', 'payment.declined', 'payment.refunded']) {
      expect(matches(own?.write ?? '', type)).toBe(true);
    }
    for (const type of ['order.confirmed', 'payment.#', 'payment.*', 'payment.captured.x', 'xpayment.captured']) {
      expect(matches(own?.write ?? '', type)).toBe(false);
    }
    const orders = payments.topics.find((t) => t.exchange === 'orders');
    expect(matches(orders?.write ?? '', 'order.placed')).toBe(false);
  });

  it('limits the binding keys to the events it consumes, `#` only when it consumes them all', () => {
    const fromOrders = payments.topics.find((t) => t.exchange === 'orders')?.read ?? '';
    expect(['order.placed', 'order.cancelled'].every((key) => matches(fromOrders, key))).toBe(true);
    expect(['order.confirmed', '#', 'order.*'].some((key) => matches(fromOrders, key))).toBe(false);
  });

  it('lets only the archive readers (orders) read the shop.events stream, and nobody write to it', () => {
    for (const app of APP_NAMES) {
      const access = brokerPermissions(app);
      expect({ app, read: matches(access.read, 'shop.events') }).toEqual({ app, read: app === 'orders' });
      expect(matches(access.write, 'shop.events') || matches(access.configure, 'shop.events')).toBe(false);
    }
  });

  it('follows the contracts: every consumer may read its producers, every producer write its types', () => {
    for (const event of EVENTS.all) {
      const producer = brokerPermissions(publisherOf(event.producer));
      expect(matches(producer.topics.find((t) => t.exchange === event.producer)?.write ?? '', event.type)).toBe(true);
      for (const consumer of event.consumers) {
        const access = brokerPermissions(consumer);
        expect(matches(access.read, event.producer)).toBe(true);
        expect(matches(access.topics.find((t) => t.exchange === event.producer)?.read ?? '', event.type)).toBe(true);
      }
    }
  });

  it("lets the bridge publish only the HTTP producers' types on their exchanges, and bind any key anywhere", () => {
    const bridge = brokerPermissions('bridge');
    const erp = bridge.topics.find((t) => t.exchange === 'erp');
    expect(matches(bridge.write, 'erp') && matches(bridge.configure, 'erp')).toBe(true);
    expect(matches(erp?.write ?? '', 'stock.adjusted')).toBe(true);
    expect(matches(erp?.write ?? '', 'order.placed')).toBe(false);
    for (const app of ['orders', 'inventory', 'payments', 'notifications']) {
      expect(matches(bridge.write, app) || matches(bridge.configure, app)).toBe(false);
      expect(matches(bridge.read, app)).toBe(true);
      const topic = bridge.topics.find((t) => t.exchange === app);
      expect(matches(topic?.write ?? '', 'order.placed')).toBe(false);
      expect(['order.*', '#', 'payment.captured'].every((key) => matches(topic?.read ?? '', key))).toBe(true);
    }
    expect(matches(bridge.configure, 'bridge.subscription.0b9f6a8e-2f3c-4a57-9d3e-1f6c2b7a8e90')).toBe(true);
    // and nobody else may write to the ERP's exchange
    for (const app of APP_NAMES.filter((name) => name !== 'bridge')) {
      expect(matches(brokerPermissions(app).write, 'erp')).toBe(false);
    }
  });

  it('names users with an optional prefix, and reads the prefix back', () => {
    expect(brokerPermissions('orders', EVENTS, 'staging-').user).toBe('staging-orders');
    expect(brokerUserPrefix('orders', 'staging-orders')).toBe('staging-');
    expect(brokerUserPrefix('orders', 'orders')).toBe('');
    expect(brokerUserPrefix('orders', 'guest')).toBeUndefined();
  });
});

describe('rabbitmqDefinitions', () => {
  const passwords = {
    orders: 'o-secret',
    inventory: 'i-secret',
    payments: 'p-secret',
    notifications: 'n-secret',
    bridge: 'b-secret',
  };
  const definitions = rabbitmqDefinitions({ vhost: 'shop', passwords, admin: { name: 'admin', password: 'a-secret' } });

  it('has one user per app and the admin, no guest, with salted SHA-256 hashes of their passwords', () => {
    expect(definitions.users.map((u) => u.name)).toEqual([...APP_NAMES, 'admin']);
    for (const user of definitions.users) {
      const raw = Buffer.from(user.password_hash, 'base64');
      const password = user.name === 'admin' ? 'a-secret' : passwords[user.name as keyof typeof passwords];
      const expected = createHash('sha256')
        .update(Buffer.concat([raw.subarray(0, 4), Buffer.from(password)]))
        .digest();
      expect(raw.subarray(4)).toEqual(expected);
      expect(JSON.stringify(user)).not.toContain(password);
    }
    expect(definitions.users.find((u) => u.name === 'admin')?.tags).toEqual(['administrator']);
  });

  it("declares the vhost, every producer's exchange, and every permission on that vhost", () => {
    expect(definitions.vhosts).toEqual([{ name: 'shop' }]);
    expect(definitions.exchanges.map((e) => [e.name, e.type, e.durable])).toEqual(
      PRODUCER_NAMES.map((producer) => [producer, 'topic', true]),
    );
    expect(new Set([...definitions.permissions, ...definitions.topic_permissions].map((p) => p.vhost))).toEqual(
      new Set(['shop']),
    );
  });

  it('declares the archive stream with its retention, bound to every exchange', () => {
    expect(definitions.queues).toEqual([
      expect.objectContaining({
        name: 'shop.events',
        vhost: 'shop',
        durable: true,
        arguments: expect.objectContaining({ 'x-queue-type': 'stream', 'x-max-length-bytes': 5e9, 'x-max-age': '30D' }),
      }),
    ]);
    expect(definitions.bindings.map((b) => `${b.source} ${b.routing_key} ${b.destination}`)).toEqual(
      PRODUCER_NAMES.map((producer) => `${producer} # shop.events`),
    );
  });

  it('keeps dead letters through any number of listings (a delivery limit policy on the .dlq queues only)', () => {
    const [policy] = definitions.policies;
    const pattern = new RegExp(policy.pattern);
    expect(pattern.test('orders.order-saga.on-reserved.dlq')).toBe(true);
    expect(pattern.test('orders.order-saga.on-reserved')).toBe(false);
    expect(pattern.test('shop.events')).toBe(false);
    expect(policy.definition['delivery-limit']).toBeGreaterThanOrEqual(1e9);
  });

  it('salts each hash anew', () => {
    expect(rabbitmqPasswordHash('x')).not.toBe(rabbitmqPasswordHash('x'));
  });

  it('refuses an empty password', () => {
    expect(() => rabbitmqDefinitions({ vhost: 'shop', passwords: { ...passwords, orders: '' } })).toThrow(/orders/);
  });
});
