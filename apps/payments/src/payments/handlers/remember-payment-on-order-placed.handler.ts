import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { OrderPlaced } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { PaymentsService } from '../payments.service';

@Controller()
export class RememberPaymentOnOrderPlaced {
  constructor(private readonly payments: PaymentsService) {}

  // The queue's name predates this class's; it is kept so that no waiting message is stranded.
  @ConsumeEvent(OrderPlaced, { queue: 'payments.payment-saga.on-placed', groupCommit: true })
  handle(@Payload() event: EventOf<typeof OrderPlaced>, @Ctx() ctx: EventContext) {
    const { orderId, customerId, paymentToken } = event.data;
    return ctx.transaction((tx) => this.payments.remember(tx, orderId, customerId, paymentToken));
  }
}
