import { Controller } from '@nestjs/common';
import { OrderCancelled, OrderConfirmed, OrderPlaced } from '@shop/contracts';
import { OnEvent, type EventContext, type EventOf } from '@shop/messaging';
import { StockService } from './stock.service';

/** The order's life as inventory follows it: reserve, sell, release. */
@Controller()
export class StockSaga {
  constructor(private readonly stock: StockService) {}

  @OnEvent(OrderPlaced, { concurrency: 8, prefetch: 16 })
  onPlaced(event: EventOf<typeof OrderPlaced>, ctx: EventContext) {
    return ctx.transaction((tx) => this.stock.reserve(tx, ctx, event.data.orderId, event.data.items));
  }

  @OnEvent(OrderConfirmed)
  onConfirmed(event: EventOf<typeof OrderConfirmed>, ctx: EventContext) {
    return ctx.transaction((tx) => this.stock.sell(tx, event.data.orderId));
  }

  @OnEvent(OrderCancelled)
  onCancelled(event: EventOf<typeof OrderCancelled>, ctx: EventContext) {
    return ctx.transaction((tx) => this.stock.release(tx, ctx, event.data.orderId));
  }
}
