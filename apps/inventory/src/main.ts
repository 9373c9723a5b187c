import './telemetry';
import { runApp } from '@shop/platform';
import { InventoryModule } from './app/inventory.module';
import { inventorySettings } from './app/settings';

void runApp({
  name: 'inventory',
  description: 'Owns the catalogue, its prices and its stock; reserves, sells and releases it for orders.',
  settings: inventorySettings,
  module: (settings) => InventoryModule.forRoot(settings),
});
