import {
  assertTestDatabaseName,
  assertTestVhostName,
  sanitizeLabel,
  testDatabaseName,
  testVhostName,
} from './test-names';

describe('test names', () => {
  it('turns a free-form label into lowercase words joined by the separator', () => {
    expect(sanitizeLabel('Orders: Outbox relay!', '_', 40)).toBe('orders_outbox_relay');
    expect(sanitizeLabel('  payments--API  ', '-', 40)).toBe('payments-api');
    expect(sanitizeLabel('élan / ünïcode', '_', 40)).toBe('lan_n_code');
  });

  it('never yields an empty label or one ending in a separator after cutting', () => {
    expect(sanitizeLabel('***', '_', 40)).toBe('unnamed');
    expect(sanitizeLabel('abc def', '_', 4)).toBe('abc');
  });

  it('names databases test_<label>_<random> within PostgreSQL’s 63 characters', () => {
    expect(testDatabaseName('Inventory stock', 'abcd1234')).toBe('test_inventory_stock_abcd1234');
    const long = testDatabaseName('x'.repeat(200), 'abcd1234');
    expect(long).toHaveLength(63);
    expect(long).toMatch(/^test_x+_abcd1234$/);
    expect(testDatabaseName('same')).not.toBe(testDatabaseName('same'));
  });

  it('names vhosts test-<label>-<random>', () => {
    expect(testVhostName('Broker recovery', 'abcd1234')).toBe('test-broker-recovery-abcd1234');
    expect(testVhostName('y'.repeat(200), 'abcd1234')).toHaveLength(63);
  });

  describe('the guard against non-test databases', () => {
    it.each([
      'postgres',
      'orders',
      'template1',
      'test',
      'testing_orders',
      'Test_orders',
      'test_orders"; DROP DATABASE orders; --',
    ])('refuses %s', (name) => {
      expect(() => assertTestDatabaseName(name)).toThrow(/Refusing to touch database/);
    });

    it('refuses a test_ name longer than PostgreSQL keeps', () => {
      expect(() => assertTestDatabaseName(`test_${'x'.repeat(60)}`)).toThrow(/Refusing/);
    });

    it('accepts the names it generates', () => {
      expect(() => assertTestDatabaseName(testDatabaseName('anything at all'))).not.toThrow();
    });
  });

  describe('the guard against non-test vhosts', () => {
    it.each(['/', 'production', 'test', 'test_orders', 'tests-orders', 'test-orders/..'])('refuses %s', (name) => {
      expect(() => assertTestVhostName(name)).toThrow(/Refusing to touch vhost/);
    });

    it('accepts the names it generates', () => {
      expect(() => assertTestVhostName(testVhostName('anything at all'))).not.toThrow();
    });
  });
});
