import './telemetry';
import { runApp } from '@shop/platform';
import { AppModule } from './app.module';
import { inventorySettings } from './config/inventory.settings';

void runApp({
  name: 'inventory',
  description: 'Owns the catalogue, its prices and its stock; reserves, sells and releases it for orders.',
  settings: inventorySettings,
  module: (settings) => AppModule.forRoot(settings),
});
