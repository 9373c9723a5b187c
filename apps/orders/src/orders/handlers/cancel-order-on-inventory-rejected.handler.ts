import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { InventoryRejected } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { OrdersService } from '../orders.service';

@Controller()
export class CancelOrderOnInventoryRejected {
  constructor(private readonly orders: OrdersService) {}

  @ConsumeEvent(InventoryRejected, { queue: 'orders.order-saga.on-rejected', groupCommit: true })
  handle(@Payload() event: EventOf<typeof InventoryRejected>, @Ctx() ctx: EventContext) {
    return ctx.transaction((tx) => this.orders.failed(tx, event.data.orderId, 'OUT_OF_STOCK'));
  }
}
