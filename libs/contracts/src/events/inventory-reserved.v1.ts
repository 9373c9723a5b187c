import { z } from 'zod';
import { Cents, Currency, Quantity, Sku, Uuid } from './shared';

export const InventoryReservedV1 = z.object({
  orderId: Uuid,
  lines: z
    .array(z.object({ sku: Sku, quantity: Quantity, unitPrice: Cents }))
    .min(1)
    .max(50),
  total: Cents,
  currency: Currency,
});
export type InventoryReservedV1Data = z.infer<typeof InventoryReservedV1>;
