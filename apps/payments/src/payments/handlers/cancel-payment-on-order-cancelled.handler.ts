import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { OrderCancelled } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { PaymentsService } from '../payments.service';
import { PROVIDER_RETRY } from './provider-retry';

/** Refunds what was captured; an order not charged yet never will be. */
@Controller()
export class CancelPaymentOnOrderCancelled {
  constructor(private readonly payments: PaymentsService) {}

  @ConsumeEvent(OrderCancelled, {
    queue: 'payments.payment-saga.on-cancelled',
    retry: PROVIDER_RETRY,
    concurrency: 2,
    prefetch: 4,
  })
  handle(@Payload() event: EventOf<typeof OrderCancelled>, @Ctx() ctx: EventContext) {
    return ctx.transaction((tx) => this.payments.cancel(tx, event.data.orderId, event.data.customerId));
  }
}
