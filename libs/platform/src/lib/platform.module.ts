import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DeadLettersController } from './admin/dead-letters.controller';
import { HealthController } from './health/health.controller';
import { TraceMiddleware } from './http/trace.middleware';
import { HttpMetricsMiddleware, Metrics, MetricsController } from './metrics/metrics';

/**
 * What every app serves besides its own API: /health/live, /health/ready, /metrics, and its dead
 * letters at /admin/dead-letters (scope `admin`).
 */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false, errorLogStyle: 'pretty' })],
  controllers: [HealthController, MetricsController, DeadLettersController],
  providers: [Metrics],
  exports: [Metrics],
})
export class PlatformModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TraceMiddleware, HttpMetricsMiddleware).forRoutes('*path');
  }
}
