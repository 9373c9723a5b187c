import { Controller, Get, Sse, type MessageEvent } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentCustomer, customerScope, QueryParams } from '@shop/platform';
import { filter, map, type Observable } from 'rxjs';
import { NotificationResponse } from './dto/notification-response.dto';
import { NotificationsQuery } from './dto/notifications-query.dto';
import { StreamQuery } from './dto/stream-query.dto';
import type { NotificationView } from './notification';
import { NotificationStream } from './notification-stream';
import { NotificationsService } from './notifications.service';

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly stream: NotificationStream,
  ) {}

  @Get()
  @ApiOkResponse({ type: [NotificationResponse], description: "with authentication, the caller's own" })
  @ApiForbiddenResponse({ description: 'customerId is not the authenticated customer' })
  list(
    @QueryParams() query: NotificationsQuery,
    @CurrentCustomer() customer: string | undefined,
  ): Promise<NotificationView[]> {
    return this.notifications.list({ customerId: customerScope(query.customerId, customer), orderId: query.orderId });
  }

  /** Server-Sent Events: one `data:` line of JSON per new notification of the customer. */
  @Sse('stream')
  @ApiOkResponse({ description: 'text/event-stream of NotificationResponse JSON' })
  @ApiForbiddenResponse({ description: 'customerId is not the authenticated customer' })
  streamOf(
    @QueryParams() query: StreamQuery,
    @CurrentCustomer() customer: string | undefined,
  ): Observable<MessageEvent> {
    const customerId = customerScope(query.customerId, customer);
    return this.stream.notifications.pipe(
      filter((notification) => notification.customerId === customerId),
      map((notification) => ({ data: notification, id: notification.id })),
    );
  }
}
