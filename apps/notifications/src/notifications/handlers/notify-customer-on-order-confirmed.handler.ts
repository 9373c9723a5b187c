import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { OrderConfirmed } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { dollars } from '../notification';
import { NotificationsService } from '../notifications.service';

@Controller()
export class NotifyCustomerOnOrderConfirmed {
  constructor(private readonly notifications: NotificationsService) {}

  // The queue's name predates this class's; it is kept so that no waiting message is stranded.
  @ConsumeEvent(OrderConfirmed, { queue: 'notifications.customer-notifier.on-confirmed', groupCommit: true })
  handle(@Payload() event: EventOf<typeof OrderConfirmed>, @Ctx() ctx: EventContext) {
    const { orderId, customerId, total } = event.data;
    return ctx.transaction((tx) =>
      this.notifications.notify(tx, {
        orderId,
        customerId,
        type: 'ORDER_CONFIRMED',
        message: `Your order ${orderId} is confirmed: ${dollars(total)} charged.`,
      }),
    );
  }
}
