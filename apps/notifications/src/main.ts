import './telemetry';
import { runApp } from '@shop/platform';
import { AppModule } from './app.module';
import { notificationsSettings } from './config/notifications.settings';

void runApp({
  name: 'notifications',
  description: 'Tells customers what happened to their orders, once per order and kind, and streams it live.',
  settings: notificationsSettings,
  module: (settings) => AppModule.forRoot(settings),
});
