import './telemetry';
import { runApp } from '@shop/platform';
import { NotificationsModule } from './app/notifications.module';
import { notificationsSettings } from './app/settings';

void runApp({
  name: 'notifications',
  description: 'Tells customers what happened to their orders, once per order and kind, and streams it live.',
  settings: notificationsSettings,
  module: (settings) => NotificationsModule.forRoot(settings),
});
