import './telemetry';
import { runApp } from '@shop/platform';
import { OrdersModule } from './app/orders.module';
import { ordersSettings } from './app/settings';

void runApp({
  name: 'orders',
  description: 'Places orders and follows each through the saga to CONFIRMED or CANCELLED.',
  settings: ordersSettings,
  module: (settings) => OrdersModule.forRoot(settings),
});
