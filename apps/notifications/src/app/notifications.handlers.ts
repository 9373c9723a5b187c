import { Controller } from '@nestjs/common';
import { OrderCancelled, OrderConfirmed, PaymentRefunded } from '@shop/contracts';
import { OnEvent, type EventContext, type EventOf } from '@shop/messaging';
import { dollars } from './notification';
import { NotificationsService } from './notifications.service';

const REASONS = {
  OUT_OF_STOCK: 'some items are out of stock',
  PAYMENT_DECLINED: 'the payment was declined',
  CUSTOMER_REQUEST: 'you asked us to',
  TIMEOUT: 'it could not be completed in time',
} as const;

@Controller()
export class CustomerNotifier {
  constructor(private readonly notifications: NotificationsService) {}

  @OnEvent(OrderConfirmed)
  onConfirmed(event: EventOf<typeof OrderConfirmed>, ctx: EventContext) {
    const { orderId, customerId, total } = event.data;
    return ctx.transaction((tx) =>
      this.notifications.notify(tx, ctx, {
        orderId,
        customerId,
        type: 'ORDER_CONFIRMED',
        message: `Your order ${orderId} is confirmed: ${dollars(total)} charged.`,
      }),
    );
  }

  @OnEvent(OrderCancelled)
  onCancelled(event: EventOf<typeof OrderCancelled>, ctx: EventContext) {
    const { orderId, customerId, reason } = event.data;
    return ctx.transaction((tx) =>
      this.notifications.notify(tx, ctx, {
        orderId,
        customerId,
        type: 'ORDER_CANCELLED',
        message: `Your order ${orderId} was cancelled because ${REASONS[reason]}.`,
      }),
    );
  }

  @OnEvent(PaymentRefunded)
  onRefunded(event: EventOf<typeof PaymentRefunded>, ctx: EventContext) {
    const { orderId, customerId, amount } = event.data;
    return ctx.transaction((tx) =>
      this.notifications.notify(tx, ctx, {
        orderId,
        customerId,
        type: 'PAYMENT_REFUNDED',
        message: `We refunded ${dollars(amount)} for your order ${orderId}.`,
      }),
    );
  }
}
