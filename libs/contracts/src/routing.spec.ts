import { topicMatches } from './routing';

describe('topicMatches', () => {
  it('matches routing keys the way a topic exchange does', () => {
    expect(topicMatches('order.placed', 'order.placed')).toBe(true);
    expect(topicMatches('order.*', 'order.cancelled')).toBe(true);
    expect(topicMatches('order.*', 'payment.captured')).toBe(false);
    expect(topicMatches('#', 'inventory.reserved')).toBe(true);
    expect(topicMatches('*.captured', 'payment.captured')).toBe(true);
    expect(topicMatches('order.#', 'order')).toBe(true);
    expect(topicMatches('order.*', 'order')).toBe(false);
  });
});
