import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessagingService, startEventTransport } from '@shop/messaging';
import { loadSettings } from '@shop/platform';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { notificationsSettings } from '../../src/config/notifications.settings';

export interface NotificationsApp {
  app: INestApplication;
  db: DataSource;
  messaging: MessagingService;
  /** http://127.0.0.1:<port> of its API. */
  url: string;
  close(): Promise<void>;
}

/**
 * The notifications app as main.ts runs it (AppModule: its migrations, handlers, outbox and LISTEN
 * connection), its API on a free port, against the test's own vhost and database.
 */
export async function startNotificationsApp(urls: {
  brokerUrl: string;
  databaseUrl: string;
}): Promise<NotificationsApp> {
  Logger.overrideLogger(process.env['DEBUG_MESSAGING'] ? ['log', 'warn', 'error'] : false);
  const settings = loadSettings(notificationsSettings, {
    RABBITMQ_URL: urls.brokerUrl,
    DATABASE_URL: urls.databaseUrl,
  });
  const module = await Test.createTestingModule({ imports: [AppModule.forRoot(settings)] }).compile();
  const app = module.createNestApplication({ logger: false });
  await startEventTransport(app);
  await app.listen(0, '127.0.0.1');
  const messaging = app.get(MessagingService);
  await messaging.whenConnected();
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { app, db: app.get(DataSource), messaging, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
