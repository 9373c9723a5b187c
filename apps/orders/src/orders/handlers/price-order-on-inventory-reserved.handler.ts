import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { InventoryReserved } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { OrdersService } from '../orders.service';

/** The order's prices; it is confirmed here when the payment was captured first. */
@Controller()
export class PriceOrderOnInventoryReserved {
  constructor(private readonly orders: OrdersService) {}

  // The queue's name predates this class's; it is kept so that no waiting message is stranded.
  @ConsumeEvent(InventoryReserved, { queue: 'orders.order-saga.on-reserved', groupCommit: true })
  handle(@Payload() event: EventOf<typeof InventoryReserved>, @Ctx() ctx: EventContext) {
    const { orderId, lines, total } = event.data;
    return ctx.transaction((tx) => this.orders.priced(tx, orderId, lines, total));
  }
}
