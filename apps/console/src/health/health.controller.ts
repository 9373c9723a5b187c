import { Controller, Get, Header, HttpException, Inject } from '@nestjs/common';
import { Metrics } from '@shop/platform';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { STATIC_DIR } from '../static-dir';

/**
 * SPEC.md's probes. The console has no database and no broker: it is ready when it can serve its
 * page. The apps it shows being down is what it reports, not a reason to take it out of rotation.
 */
@Controller()
export class HealthController {
  constructor(
    @Inject(STATIC_DIR) private readonly staticDir: string,
    private readonly metrics: Metrics,
  ) {}

  @Get('health/live')
  live() {
    return { status: 'ok', info: {}, error: {}, details: {} };
  }

  @Get('health/ready')
  ready() {
    const page = existsSync(join(this.staticDir, 'index.html'))
      ? { status: 'up' }
      : { status: 'down', error: `the page is not built (${this.staticDir}): npx nx build console` };
    const body =
      page.status === 'up'
        ? { status: 'ok', info: { page }, error: {}, details: { page } }
        : { status: 'error', info: {}, error: { page }, details: { page } };
    if (page.status !== 'up') throw new HttpException(body, 503);
    return body;
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.exposition();
  }
}
