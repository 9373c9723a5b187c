import { BadRequestException, Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { openSse } from '../http/sse';
import { SystemMonitor } from '../system/system-monitor';
import { CustomerNotifications } from './customer-notifications';
import { OrderTails } from './order-tails';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The page's live views, as Server-Sent Events (EventSource): each reconnects by itself. */
@Controller('api/live')
export class LiveController {
  constructor(
    private readonly tails: OrderTails,
    private readonly notifications: CustomerNotifications,
    private readonly monitor: SystemMonitor,
  ) {}

  /** `order` (the order as orders answers it), `step` (one per event, id = event id), `problem`. */
  @Get('orders/:id')
  order(@Param('id') id: string, @Req() req: Request, @Res() res: Response): void {
    if (!UUID.test(id)) throw new BadRequestException(['id must be a UUID']);
    this.tails.watch(id.toLowerCase(), openSse(req, res));
  }

  /** `notification` (one per notification of the customer, id = its id), `problem`. */
  @Get('notifications')
  customerNotifications(@Query('customerId') customerId: string, @Req() req: Request, @Res() res: Response): void {
    if (typeof customerId !== 'string' || customerId.length < 1 || customerId.length > 64) {
      throw new BadRequestException(['customerId must be 1 to 64 characters']);
    }
    this.notifications.relay(customerId, openSse(req, res));
  }

  /** `system`: every app's readiness, outbox, broker connection and dead letters, and orders by status. */
  @Get('system')
  system(@Req() req: Request, @Res() res: Response): void {
    this.monitor.watch(openSse(req, res));
  }
}
