import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { OrderCancelled } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { NotificationsService } from '../notifications.service';

const REASONS = {
  OUT_OF_STOCK: 'some items are out of stock',
  PAYMENT_DECLINED: 'the payment was declined',
  CUSTOMER_REQUEST: 'you asked us to',
  TIMEOUT: 'it could not be completed in time',
} as const;

@Controller()
export class NotifyCustomerOnOrderCancelled {
  constructor(private readonly notifications: NotificationsService) {}

  @ConsumeEvent(OrderCancelled, { queue: 'notifications.customer-notifier.on-cancelled', groupCommit: true })
  handle(@Payload() event: EventOf<typeof OrderCancelled>, @Ctx() ctx: EventContext) {
    const { orderId, customerId, reason } = event.data;
    return ctx.transaction((tx) =>
      this.notifications.notify(tx, {
        orderId,
        customerId,
        type: 'ORDER_CANCELLED',
        message: `Your order ${orderId} was cancelled because ${REASONS[reason]}.`,
      }),
    );
  }
}
