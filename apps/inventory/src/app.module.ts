import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { Inventory1732400000000 } from './migrations/1732400000000-inventory';
import { CatalogueSeed, ProductsController } from './products';
import type { InventorySettings } from './settings';
import { STOCK_HANDLERS } from './handlers';
import { StockService } from './stock.service';
import { StockMetrics } from './stock.metrics';

@Module({})
export class InventoryModule {
  static forRoot(settings: InventorySettings): DynamicModule {
    return {
      module: InventoryModule,
      imports: [
        databaseModule({ ...databaseConnection(settings), migrations: [Inventory1732400000000] }),
        MessagingModule.forRoot({
          app: 'inventory',
          ...brokerConnection(settings),
          // Published for whoever wants it: no service of this system subscribes to it.
          outbox: { unroutableAllowed: ['inventory.released'] },
        }),
        PlatformModule,
      ],
      controllers: [ProductsController, ...STOCK_HANDLERS],
      providers: [StockService, CatalogueSeed, StockMetrics],
    };
  }
}
