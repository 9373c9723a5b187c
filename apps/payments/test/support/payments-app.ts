import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessagingService, startEventTransport } from '@shop/messaging';
import { loadSettings } from '@shop/platform';
import { PATIENT_DATABASE_ENV } from '@shop/testing';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { PAYMENTS_SETTINGS, paymentsSettings, type PaymentsSettings } from '../../src/config/payments.settings';
import { CardProvider } from '../../src/payments/card-provider';
import { ScriptedCardProvider } from './scripted-card-provider';

export interface PaymentsApp {
  app: INestApplication;
  db: DataSource;
  messaging: MessagingService;
  provider: ScriptedCardProvider;
  close(): Promise<void>;
}

/**
 * The payments app as main.ts runs it (AppModule: its migrations, handlers and outbox), without the
 * HTTP listener, against the test's own vhost and database; its card provider is scriptable.
 */
export async function startPaymentsApp(urls: { brokerUrl: string; databaseUrl: string }): Promise<PaymentsApp> {
  Logger.overrideLogger(process.env['DEBUG_MESSAGING'] ? ['log', 'warn', 'error'] : false);
  const settings = loadSettings(paymentsSettings, {
    RABBITMQ_URL: urls.brokerUrl,
    DATABASE_URL: urls.databaseUrl,
    ...PATIENT_DATABASE_ENV,
  });
  const module = await Test.createTestingModule({ imports: [AppModule.forRoot(settings)] })
    .overrideProvider(CardProvider)
    .useFactory({
      factory: (db: DataSource, current: PaymentsSettings) => new ScriptedCardProvider(db, current),
      inject: [DataSource, PAYMENTS_SETTINGS],
    })
    .compile();
  const app = module.createNestApplication({ logger: false });
  await startEventTransport(app);
  await app.init();
  const messaging = app.get(MessagingService);
  await messaging.whenConnected();
  return {
    app,
    db: app.get(DataSource),
    messaging,
    provider: app.get(CardProvider) as ScriptedCardProvider,
    close: () => app.close(),
  };
}
