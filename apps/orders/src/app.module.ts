import { Module, type DynamicModule } from '@nestjs/common';
import { ArchiveAudit, MessagingModule, ProjectionsModule, SubjectIndexProjection } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { AuditController } from './audit/audit.controller';
import { ORDERS_SETTINGS, type OrdersSettings } from './config/orders.settings';
import { Orders1732400000000 } from './migrations/1732400000000-orders';
import { OrderTimeline1732500000000 } from './migrations/1732500000000-order-timeline';
import { OrderTimelineFromArchive1733000000001 } from './migrations/1733000000001-order-timeline-from-archive';
import { ORDERS_ADMISSION } from './orders/admission';
import { ORDER_HANDLERS } from './orders/handlers';
import { OrderTimeoutsService } from './orders/order-timeouts.service';
import { OrdersController } from './orders/orders.controller';
import { OrdersMetrics } from './orders/orders.metrics';
import { OrdersService } from './orders/orders.service';
import { ProjectionsController } from './projections/projections.controller';
import { OrderTimelineProjection } from './timeline/order-timeline.projection';
import { OrderTimelineService } from './timeline/order-timeline.service';

/**
 * Orders: the order and its saga (orders, subscriptions ORDER_HANDLERS), the timeline of every event
 * about an order (timeline) and the audit of the archive (audit), both folded from the event archive
 * by ProjectionsModule and rebuilt through /admin/projections (projections).
 */
@Module({})
export class AppModule {
  static forRoot(settings: OrdersSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        databaseModule({
          ...databaseConnection(settings),
          migrations: [Orders1732400000000, OrderTimeline1732500000000, OrderTimelineFromArchive1733000000001],
        }),
        MessagingModule.forRoot({
          app: 'orders',
          ...brokerConnection(settings),
          // the timeline's queue until it was folded from the archive
          retiredQueues: ['orders.order-timeline-projection'],
        }),
        ProjectionsModule.register([OrderTimelineProjection, SubjectIndexProjection]),
        PlatformModule,
      ],
      controllers: [OrdersController, AuditController, ProjectionsController, ...ORDER_HANDLERS],
      providers: [
        { provide: ORDERS_SETTINGS, useValue: settings },
        OrdersService,
        OrderTimeoutsService,
        OrdersMetrics,
        OrderTimelineService,
        ArchiveAudit,
        ...ORDERS_ADMISSION,
      ],
    };
  }
}
