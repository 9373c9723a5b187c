import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health/health.controller';
import { TraceMiddleware } from './http/trace.middleware';
import { HttpMetricsMiddleware, Metrics, MetricsController } from './metrics/metrics';

/** What every app serves besides its own API: /health/live, /health/ready and /metrics. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false, errorLogStyle: 'pretty' })],
  controllers: [HealthController, MetricsController],
  providers: [Metrics],
  exports: [Metrics],
})
export class PlatformModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TraceMiddleware, HttpMetricsMiddleware).forRoutes('*path');
  }
}
