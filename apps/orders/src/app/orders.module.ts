import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { databaseModule, PlatformModule } from '@shop/platform';
import { Orders1732400000000 } from './migrations/1732400000000-orders';
import { OrderTimeouts } from './order-timeouts';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';
import { OrderSaga } from './saga.handlers';
import { ORDERS_SETTINGS, type OrdersSettings } from './settings';

@Module({})
export class OrdersModule {
  static forRoot(settings: OrdersSettings): DynamicModule {
    return {
      module: OrdersModule,
      imports: [
        databaseModule({ url: settings.DATABASE_URL, migrations: [Orders1732400000000] }),
        MessagingModule.forRoot({ app: 'orders', url: settings.RABBITMQ_URL }),
        PlatformModule,
      ],
      controllers: [OrdersController, OrderSaga],
      providers: [{ provide: ORDERS_SETTINGS, useValue: settings }, OrdersService, OrderTimeouts],
    };
  }
}
