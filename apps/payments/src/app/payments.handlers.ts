import { Controller } from '@nestjs/common';
import { InventoryReserved, OrderCancelled, OrderPlaced } from '@shop/contracts';
import { OnEvent, type EventContext, type EventOf, type RetryPolicy } from '@shop/messaging';
import { PaymentsService } from './payments.service';

/** Provider hiccups are frequent and short: retry sooner and longer than the library's default. */
const PROVIDER_RETRY: Partial<RetryPolicy> = { maxAttempts: 10, initialDelayMs: 200, factor: 2, maxDelayMs: 5_000 };

@Controller()
export class PaymentSaga {
  constructor(private readonly payments: PaymentsService) {}

  @OnEvent(OrderPlaced)
  onPlaced(event: EventOf<typeof OrderPlaced>, ctx: EventContext) {
    const { orderId, customerId, paymentToken } = event.data;
    return ctx.transaction((tx) => this.payments.remember(tx, orderId, customerId, paymentToken));
  }

  @OnEvent(InventoryReserved, { retry: PROVIDER_RETRY, concurrency: 4, prefetch: 8 })
  onReserved(event: EventOf<typeof InventoryReserved>, ctx: EventContext) {
    return ctx.transaction((tx) => this.payments.capture(tx, ctx, event.data.orderId, event.data.total));
  }

  @OnEvent(OrderCancelled, { retry: PROVIDER_RETRY, concurrency: 2, prefetch: 4 })
  onCancelled(event: EventOf<typeof OrderCancelled>, ctx: EventContext) {
    return ctx.transaction((tx) => this.payments.cancel(tx, ctx, event.data.orderId, event.data.customerId));
  }
}
