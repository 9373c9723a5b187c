import { AdjustStockOnStockAdjusted } from './adjust-stock-on-stock-adjusted.handler';
import { ReleaseStockOnOrderCancelled } from './release-stock-on-order-cancelled.handler';
import { ReserveStockOnOrderPlaced } from './reserve-stock-on-order-placed.handler';
import { SellStockOnOrderConfirmed } from './sell-stock-on-order-confirmed.handler';

/** Inventory's subscriptions, one queue each: the order's life as inventory follows it, and the ERP's counts. */
export const STOCK_HANDLERS = [
  ReserveStockOnOrderPlaced,
  SellStockOnOrderConfirmed,
  ReleaseStockOnOrderCancelled,
  AdjustStockOnStockAdjusted,
];
