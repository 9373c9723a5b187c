import { Controller, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { StockAdjusted } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '@shop/messaging';
import { adjustStock } from '../stock.service';

/** The ERP's counts (published over HTTP through the bridge): stock received or found missing. */
@Controller()
export class AdjustStockOnStockAdjusted {
  private readonly logger = new Logger(AdjustStockOnStockAdjusted.name);

  @ConsumeEvent(StockAdjusted, { queue: 'inventory.stock.on-adjusted' })
  async handle(@Payload() event: EventOf<typeof StockAdjusted>, @Ctx() ctx: EventContext) {
    const { sku, delta, reason } = event.data;
    const result = await ctx.transaction((tx) => adjustStock(tx, sku, delta));
    if (result.applied !== delta) {
      this.logger.warn(
        `stock.adjusted ${event.id}: ${sku} ${delta} (${reason}) applied as ${result.applied}: only ${result.available - result.applied} were available`,
      );
    }
  }
}
