import './telemetry';
import { runApp } from '@shop/platform';
import { PaymentsModule } from './app/payments.module';
import { paymentsSettings } from './app/settings';

void runApp({
  name: 'payments',
  description: 'Captures the total of reserved orders through a card provider, and refunds cancelled ones.',
  settings: paymentsSettings,
  module: (settings) => PaymentsModule.forRoot(settings),
});
