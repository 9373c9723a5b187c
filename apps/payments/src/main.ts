import './telemetry';
import { runApp } from '@shop/platform';
import { AppModule } from './app.module';
import { paymentsSettings } from './config/payments.settings';

void runApp({
  name: 'payments',
  description: 'Captures the total of reserved orders through a card provider, and refunds cancelled ones.',
  settings: paymentsSettings,
  module: (settings) => AppModule.forRoot(settings),
});
