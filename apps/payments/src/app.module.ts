import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { PAYMENTS_SETTINGS, type PaymentsSettings } from './config/payments.settings';
import { Payments1732400000000 } from './migrations/1732400000000-payments';
import { CardProvider } from './payments/card-provider';
import { PAYMENT_HANDLERS } from './payments/handlers';
import { PaymentsController } from './payments/payments.controller';
import { PaymentsService } from './payments/payments.service';

@Module({})
export class AppModule {
  static forRoot(settings: PaymentsSettings): DynamicModule {
    return {
      module: AppModule,
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
