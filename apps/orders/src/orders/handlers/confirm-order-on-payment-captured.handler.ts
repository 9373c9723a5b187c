import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { PaymentCaptured } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { OrdersService } from '../orders.service';

/** The payment is remembered; the order is confirmed here when it was priced first. */
@Controller()
export class ConfirmOrderOnPaymentCaptured {
  constructor(private readonly orders: OrdersService) {}

  @ConsumeEvent(PaymentCaptured, { queue: 'orders.order-saga.on-captured', groupCommit: true })
  handle(@Payload() event: EventOf<typeof PaymentCaptured>, @Ctx() ctx: EventContext) {
    const { orderId, paymentId, amount } = event.data;
    return ctx.transaction((tx) => this.orders.paid(tx, orderId, paymentId, amount));
  }
}
