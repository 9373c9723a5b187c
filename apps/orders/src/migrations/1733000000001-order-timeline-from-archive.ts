import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OrderTimelineProjection } from '../timeline/order-timeline.projection';

/**
 * The timeline is now folded from the event archive (OrderTimelineProjection) instead of its own
 * queue: the table is recreated empty with the projection's columns (an archive offset, `position`,
 * where it had a serial), and the projection fills it from the beginning of the archive at start.
 */
export class OrderTimelineFromArchive1733000000001 implements MigrationInterface {
  name = 'OrderTimelineFromArchive1733000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE order_timeline`);
    await new OrderTimelineProjection().createTable(q.manager, 'order_timeline');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE order_timeline`);
    await q.query(`DELETE FROM messaging_projections WHERE name = 'timeline'`);
  }
}
