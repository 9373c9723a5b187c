import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { ORDERS_SETTINGS, type OrdersSettings } from './config/orders.settings';
import { Orders1732400000000 } from './migrations/1732400000000-orders';
import { OrderTimeline1732500000000 } from './migrations/1732500000000-order-timeline';
import { ORDER_HANDLERS } from './orders/handlers';
import { OrderTimeoutsService } from './orders/order-timeouts.service';
import { OrdersController } from './orders/orders.controller';
import { OrdersMetrics } from './orders/orders.metrics';
import { OrdersService } from './orders/orders.service';
import { TIMELINE_HANDLERS } from './timeline/handlers';
import { OrderTimelineService } from './timeline/order-timeline.service';

/**
 * Orders: the order and its saga (orders), and the timeline of every event about an order
 * (timeline). Its subscriptions are ORDER_HANDLERS and TIMELINE_HANDLERS, one queue each.
 */
@Module({})
export class AppModule {
  static forRoot(settings: OrdersSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        databaseModule({
          ...databaseConnection(settings),
          migrations: [Orders1732400000000, OrderTimeline1732500000000],
        }),
        MessagingModule.forRoot({ app: 'orders', ...brokerConnection(settings) }),
        PlatformModule,
      ],
      controllers: [OrdersController, ...ORDER_HANDLERS, ...TIMELINE_HANDLERS],
      providers: [
        { provide: ORDERS_SETTINGS, useValue: settings },
        OrdersService,
        OrderTimeoutsService,
        OrdersMetrics,
        OrderTimelineService,
      ],
    };
  }
}
