import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { InventoryReserved } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { PaymentsService } from '../payments.service';
import { PROVIDER_RETRY } from './provider-retry';

@Controller()
export class CapturePaymentOnInventoryReserved {
  constructor(private readonly payments: PaymentsService) {}

  // Not groupCommit: the capture waits on the card provider, a remote call that a shared transaction
  // (and every handler in it) would wait on too.
  @ConsumeEvent(InventoryReserved, {
    queue: 'payments.payment-saga.on-reserved',
    retry: PROVIDER_RETRY,
    concurrency: 4,
    prefetch: 8,
  })
  handle(@Payload() event: EventOf<typeof InventoryReserved>, @Ctx() ctx: EventContext) {
    return ctx.transaction((tx) => this.payments.capture(tx, event.data.orderId, event.data.total));
  }
}
