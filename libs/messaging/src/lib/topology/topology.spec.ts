import { topicMatches, Topology } from './topology';

describe('topology', () => {
  it('matches routing keys the way a topic exchange does', () => {
    expect(topicMatches('order.placed', 'order.placed')).toBe(true);
    expect(topicMatches('order.*', 'order.cancelled')).toBe(true);
    expect(topicMatches('order.*', 'payment.captured')).toBe(false);
    expect(topicMatches('#', 'inventory.reserved')).toBe(true);
    expect(topicMatches('*.captured', 'payment.captured')).toBe(true);
    expect(topicMatches('order.#', 'order')).toBe(true);
    expect(topicMatches('order.*', 'order')).toBe(false);
  });

  it('names every queue and exchange after its app', () => {
    expect(Topology.exchange('orders')).toBe('orders');
    expect(Topology.delayQueue('payments', 2000)).toBe('payments.delay.2000ms');
    expect(Topology.deadLetterQueue('inventory.reserve-stock-on-order-placed')).toBe(
      'inventory.reserve-stock-on-order-placed.dlq',
    );
  });
});
