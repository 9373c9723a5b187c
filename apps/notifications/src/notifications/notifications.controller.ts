import { Controller, Get, Query, Sse, type MessageEvent } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { CurrentCustomer, customerScope } from '@shop/platform';
import { IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { filter, map, type Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import { toView, type NotificationRow, type NotificationView } from './notification';
import { NotificationStream } from './notification-stream';

export class NotificationsQuery {
  @ApiPropertyOptional({ minLength: 1, maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  customerId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  orderId?: string;
}

export class StreamQuery {
  @ApiProperty({ minLength: 1, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  customerId!: string;
}

export class NotificationResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ enum: ['ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PAYMENT_REFUNDED'] }) type!: string;
  @ApiProperty() message!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

/** The newest this many, oldest first: a customer's or an order's history is far shorter. */
const LIST_LIMIT = 500;

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(
    private readonly db: DataSource,
    private readonly stream: NotificationStream,
  ) {}

  @Get()
  @ApiOkResponse({ type: [NotificationResponse], description: "with authentication, the caller's own" })
  @ApiForbiddenResponse({ description: 'customerId is not the authenticated customer' })
  async list(
    @Query() query: NotificationsQuery,
    @CurrentCustomer() customer: string | undefined,
  ): Promise<NotificationView[]> {
    const customerId = customerScope(query.customerId, customer);
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (customerId !== undefined) conditions.push(`customer_id = $${params.push(customerId)}`);
    if (query.orderId !== undefined) conditions.push(`order_id = $${params.push(query.orderId)}`);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = (await this.db.query(
      `SELECT * FROM (SELECT * FROM notifications ${where} ORDER BY created_at DESC, id LIMIT ${LIST_LIMIT}) newest
       ORDER BY created_at, id`,
      params,
    )) as NotificationRow[];
    return rows.map(toView);
  }

  /** Server-Sent Events: one `data:` line of JSON per new notification of the customer. */
  @Sse('stream')
  @ApiOkResponse({ description: 'text/event-stream of NotificationResponse JSON' })
  @ApiForbiddenResponse({ description: 'customerId is not the authenticated customer' })
  streamOf(@Query() query: StreamQuery, @CurrentCustomer() customer: string | undefined): Observable<MessageEvent> {
    const customerId = customerScope(query.customerId, customer);
    return this.stream.notifications.pipe(
      filter((notification) => notification.customerId === customerId),
      map((notification) => ({ data: notification, id: notification.id })),
    );
  }
}
