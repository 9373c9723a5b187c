import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { PaymentDeclined } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { OrdersService } from '../orders.service';

@Controller()
export class CancelOrderOnPaymentDeclined {
  constructor(private readonly orders: OrdersService) {}

  @ConsumeEvent(PaymentDeclined, { queue: 'orders.order-saga.on-declined', groupCommit: true })
  handle(@Payload() event: EventOf<typeof PaymentDeclined>, @Ctx() ctx: EventContext) {
    return ctx.transaction((tx) => this.orders.failed(tx, event.data.orderId, 'PAYMENT_DECLINED'));
  }
}
