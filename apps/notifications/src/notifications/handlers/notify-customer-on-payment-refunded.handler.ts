import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { PaymentRefunded } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { dollars } from '../notification';
import { NotificationsService } from '../notifications.service';

@Controller()
export class NotifyCustomerOnPaymentRefunded {
  constructor(private readonly notifications: NotificationsService) {}

  @ConsumeEvent(PaymentRefunded, { queue: 'notifications.customer-notifier.on-refunded', groupCommit: true })
  handle(@Payload() event: EventOf<typeof PaymentRefunded>, @Ctx() ctx: EventContext) {
    const { orderId, customerId, amount } = event.data;
    return ctx.transaction((tx) =>
      this.notifications.notify(tx, {
        orderId,
        customerId,
        type: 'PAYMENT_REFUNDED',
        message: `We refunded ${dollars(amount)} for your order ${orderId}.`,
      }),
    );
  }
}
