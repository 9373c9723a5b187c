import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { OrderCancelled } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { StockService } from '../stock.service';

@Controller()
export class ReleaseStockOnOrderCancelled {
  constructor(private readonly stock: StockService) {}

  @ConsumeEvent(OrderCancelled, { queue: 'inventory.stock-saga.on-cancelled' })
  handle(@Payload() event: EventOf<typeof OrderCancelled>, @Ctx() ctx: EventContext) {
    return ctx.transaction((tx) => this.stock.release(tx, event.data.orderId));
  }
}
