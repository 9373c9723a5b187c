import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { MessagingService } from '@shop/messaging';
import { Unguarded } from '../http/auth';

/** Liveness (the process answers) and readiness (database and broker usable): SPEC.md's probes. */
@ApiTags('health')
@Unguarded()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly messaging: MessagingService,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** 200 when the database answers and the broker connection is up with its consumers; 503 otherwise. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 2_000 }),
      () => {
        const indicator = this.indicators.check('broker');
        const status = this.messaging.status();
        const details = {
          consumers: status.consumers.length,
          blocked: status.blocked,
          reconnects: status.reconnects,
          // the broker node (host:port) the connection is on, with the number the URL names
          ...(status.node ? { node: status.node } : {}),
          nodes: status.nodes,
        };
        if (status.connected && !status.blocked) return indicator.up(details);
        return indicator.down({
          ...details,
          error: status.lastError ?? (status.blocked ? 'blocked' : 'not connected'),
        });
      },
    ]);
  }
}
