import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { HttpMetricsMiddleware, Metrics } from '@shop/platform';
import { CONSOLE_SETTINGS, type ConsoleSettings } from './config/console.settings';
import { HealthController } from './health/health.controller';
import { CustomerNotifications } from './live/customer-notifications';
import { LiveController } from './live/live.controller';
import { OrderTails } from './live/order-tails';
import { ApiController } from './shop/api.controller';
import { STATIC_DIR } from './static-dir';
import { SystemMonitor } from './system/system-monitor';
import { Upstream } from './upstream/upstream';

/** The console: its probes, the page's API (/api) and live streams (/api/live); the page itself is static. */
@Module({})
export class AppModule implements NestModule {
  static forRoot(settings: ConsoleSettings, staticDir: string): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController, ApiController, LiveController],
      providers: [
        { provide: CONSOLE_SETTINGS, useValue: settings },
        { provide: STATIC_DIR, useValue: staticDir },
        Metrics,
        Upstream,
        SystemMonitor,
        OrderTails,
        CustomerNotifications,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*path');
  }
}
