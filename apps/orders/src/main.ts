import './telemetry';
import { runApp } from '@shop/platform';
import { AppModule } from './app.module';
import { ordersSettings } from './config/orders.settings';

void runApp({
  name: 'orders',
  description: 'Places orders and follows each through the saga to CONFIRMED or CANCELLED.',
  settings: ordersSettings,
  module: (settings) => AppModule.forRoot(settings),
});
