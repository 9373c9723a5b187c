import { defineEvent, type EventData } from '../define-event';
import { StockAdjustedV1 } from './stock-adjusted.v1';

/**
 * Published over HTTP by the ERP, through the bridge: the shop's stock follows the warehouse's
 * counts. About a product, not an order: its subject is the sku.
 */
export const StockAdjusted = defineEvent({
  type: 'stock.adjusted',
  producer: 'erp',
  consumers: ['inventory'],
  subject: 'sku',
  description: "The ERP counted a change of a product's stock (goods received, a stock-take).",
  versions: [StockAdjustedV1],
  upcasters: [],
});
export type StockAdjustedData = EventData<typeof StockAdjusted>;
