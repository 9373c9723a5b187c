import './telemetry';
import { runApp } from '@shop/platform';
import { AppModule } from './app.module';
import { bridgeSettings } from './config/bridge.settings';

void runApp({
  name: 'bridge',
  description:
    'The HTTP bridge: HTTP producers publish CloudEvents over HTTP (POST /events), HTTP subscribers get events pushed (POST /subscriptions).',
  settings: bridgeSettings,
  module: (settings) => AppModule.forRoot(settings),
});
