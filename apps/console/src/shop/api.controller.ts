import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { CONSOLE_SETTINGS, UPSTREAM_APPS, type ConsoleSettings } from '../config/console.settings';
import { SystemMonitor } from '../system/system-monitor';
import { Upstream, type Outcome } from '../upstream/upstream';
import { RedriveInput } from './redrive-input.dto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CUSTOMER = /^.{1,64}$/u;
/** What the page offers to pay with: payments' simulated provider decides by token (SPEC.md). */
export const PAYMENT_TOKENS = [
  { token: 'tok_visa', outcome: 'captures' },
  { token: 'tok_mastercard', outcome: 'captures' },
  { token: 'tok_declined', outcome: 'declined: card_declined' },
  { token: 'tok_insufficient_funds', outcome: 'declined: insufficient_funds' },
] as const;

/**
 * The page's backend: each route is one call to one app's public API, answered as an Outcome (the
 * app's status and body, or why it did not answer) so that the page can tell "orders refused this"
 * from "orders is down". The apps' own validation stays theirs: bodies are passed on as they are.
 */
@Controller('api')
export class ApiController {
  constructor(
    private readonly upstream: Upstream,
    private readonly monitor: SystemMonitor,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  /** What the page needs to know about the console itself (nothing secret). */
  @Get('config')
  config() {
    return {
      apps: UPSTREAM_APPS.map((app) => app.name),
      paymentTokens: PAYMENT_TOKENS,
      jaegerUiUrl: this.settings.JAEGER_UI_URL ?? null,
      authentication: this.settings.CONSOLE_API_TOKEN !== undefined,
    };
  }

  @Get('products')
  products(): Promise<Outcome> {
    return this.upstream.call('inventory', '/products');
  }

  @Post('orders')
  @HttpCode(200)
  placeOrder(@Body() body: unknown, @Headers('idempotency-key') key?: string): Promise<Outcome> {
    const headers: Record<string, string> = {};
    if (key && key.length <= 255) headers['idempotency-key'] = key;
    return this.upstream.call('orders', '/orders', { method: 'POST', body: body ?? {}, headers });
  }

  @Get('orders')
  recentOrders(@Query('customerId') customerId?: string): Promise<Outcome> {
    if (customerId !== undefined && !CUSTOMER.test(customerId)) {
      throw new BadRequestException(['customerId must be 1 to 64 characters']);
    }
    const query = new URLSearchParams({ limit: '10', ...(customerId ? { customerId } : {}) });
    return this.upstream.call('orders', `/orders?${query}`);
  }

  @Get('orders/:id')
  order(@Param('id') id: string): Promise<Outcome> {
    if (!UUID.test(id)) throw new BadRequestException(['id must be a UUID']);
    return this.upstream.call('orders', `/orders/${id}`);
  }

  @Get('system')
  system() {
    return this.monitor.snapshot();
  }

  @Post('dead-letters/redrive')
  @HttpCode(200)
  redrive(@Body() input: RedriveInput): Promise<Outcome> {
    return this.monitor.redrive(input.app, input.queue, input.messageIds);
  }
}
