import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import type { InventorySettings } from './config/inventory.settings';
import { Inventory1732400000000 } from './migrations/1732400000000-inventory';
import { CatalogueSeed } from './products/catalogue.seed';
import { ProductsController } from './products/products.controller';
import { ProductsService } from './products/products.service';
import { STOCK_HANDLERS } from './stock/handlers';
import { StockMetrics } from './stock/stock.metrics';
import { StockService } from './stock/stock.service';

/** Inventory: the catalogue (products) and its stock, reserved, sold and released as orders go (stock). */
@Module({})
export class AppModule {
  static forRoot(settings: InventorySettings): DynamicModule {
    return {
      module: AppModule,
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
      providers: [ProductsService, CatalogueSeed, StockService, StockMetrics],
    };
  }
}
