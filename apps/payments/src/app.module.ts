import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { CardProvider } from './card-provider';
import { Payments1732400000000 } from './migrations/1732400000000-payments';
import { PaymentsController } from './payments.controller';
import { PAYMENT_HANDLERS } from './handlers';
import { PaymentsService } from './payments.service';
import { PAYMENTS_SETTINGS, type PaymentsSettings } from './settings';

@Module({})
export class PaymentsModule {
  static forRoot(settings: PaymentsSettings): DynamicModule {
    return {
      module: PaymentsModule,
      imports: [
        // Handlers hold a connection while the provider uses another: room for both.
        databaseModule({ ...databaseConnection(settings), migrations: [Payments1732400000000], poolSize: 20 }),
        MessagingModule.forRoot({ app: 'payments', ...brokerConnection(settings) }),
        PlatformModule,
      ],
      controllers: [PaymentsController, ...PAYMENT_HANDLERS],
      providers: [{ provide: PAYMENTS_SETTINGS, useValue: settings }, CardProvider, PaymentsService],
    };
  }
}
