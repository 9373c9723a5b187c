import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { OrderConfirmed } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { StockService } from '../stock.service';

@Controller()
export class SellStockOnOrderConfirmed {
  constructor(private readonly stock: StockService) {}

  @ConsumeEvent(OrderConfirmed, { queue: 'inventory.stock-saga.on-confirmed' })
  handle(@Payload() event: EventOf<typeof OrderConfirmed>, @Ctx() ctx: EventContext) {
    return ctx.transaction((tx) => this.stock.sell(tx, event.data.orderId));
  }
}
