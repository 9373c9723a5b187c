import { Topology } from './topology';

describe('topology', () => {
  it('names every queue and exchange after its app', () => {
    expect(Topology.exchange('orders')).toBe('orders');
    expect(Topology.delayQueue('payments', 2000)).toBe('payments.delay.2000ms');
    expect(Topology.deadLetterQueue('inventory.reserve-stock-on-order-placed')).toBe(
      'inventory.reserve-stock-on-order-placed.dlq',
    );
  });
});
