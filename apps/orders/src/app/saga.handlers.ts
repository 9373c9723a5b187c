import { Controller } from '@nestjs/common';
import { InventoryRejected, InventoryReserved, PaymentCaptured, PaymentDeclined } from '@shop/contracts';
import { OnEvent, type EventContext, type EventOf } from '@shop/messaging';
import { OrdersService } from './orders.service';

/** What the other services report about an order; each moves it forward, never back. */
@Controller()
export class OrderSaga {
  constructor(private readonly orders: OrdersService) {}

  @OnEvent(InventoryReserved)
  onReserved(event: EventOf<typeof InventoryReserved>, ctx: EventContext) {
    const { orderId, lines, total } = event.data;
    return ctx.transaction((tx) => this.orders.priced(tx, orderId, lines, total));
  }

  @OnEvent(InventoryRejected)
  onRejected(event: EventOf<typeof InventoryRejected>, ctx: EventContext) {
    return ctx.transaction((tx) => this.orders.failed(tx, event.data.orderId, 'OUT_OF_STOCK'));
  }

  @OnEvent(PaymentCaptured)
  onCaptured(event: EventOf<typeof PaymentCaptured>, ctx: EventContext) {
    const { orderId, paymentId, amount } = event.data;
    return ctx.transaction((tx) => this.orders.paid(tx, orderId, paymentId, amount));
  }

  @OnEvent(PaymentDeclined)
  onDeclined(event: EventOf<typeof PaymentDeclined>, ctx: EventContext) {
    return ctx.transaction((tx) => this.orders.failed(tx, event.data.orderId, 'PAYMENT_DECLINED'));
  }
}
