import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { Orders1732400000000 } from './migrations/1732400000000-orders';
import { OrderTimeline1732500000000 } from './migrations/1732500000000-order-timeline';
import { OrderTimelineService } from './order-timeline.service';
import { OrderTimeouts } from './order-timeouts';
import { OrdersController } from './orders.controller';
import { OrdersMetrics } from './orders.metrics';
import { OrdersService } from './orders.service';
import { ORDER_HANDLERS } from './handlers';
import { ORDERS_SETTINGS, type OrdersSettings } from './settings';

@Module({})
export class OrdersModule {
  static forRoot(settings: OrdersSettings): DynamicModule {
    return {
      module: OrdersModule,
      imports: [
        databaseModule({
          ...databaseConnection(settings),
          migrations: [Orders1732400000000, OrderTimeline1732500000000],
        }),
        MessagingModule.forRoot({ app: 'orders', ...brokerConnection(settings) }),
        PlatformModule,
      ],
      controllers: [OrdersController, ...ORDER_HANDLERS],
      providers: [
        { provide: ORDERS_SETTINGS, useValue: settings },
        OrdersService,
        OrderTimelineService,
        OrderTimeouts,
        OrdersMetrics,
      ],
    };
  }
}
