import { queueUnavailable } from './archive';

describe('queueUnavailable', () => {
  it("tells a durable queue the broker has not recovered yet from one it does not have (RabbitMQ's 404s)", () => {
    expect(
      queueUnavailable(
        `Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - home node 'rabbit@host' of durable queue 'shop.events' in vhost '/' is down or inaccessible"`,
      ),
    ).toBe(true);
    expect(
      queueUnavailable(
        `Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - no queue 'shop.events' in vhost '/'"`,
      ),
    ).toBe(false);
    expect(
      queueUnavailable(
        `Operation failed: QueueDeclare; 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - access to queue 'shop.events' in vhost '/' refused for user 'inventory'"`,
      ),
    ).toBe(false);
    expect(queueUnavailable(undefined)).toBe(false);
  });
});
