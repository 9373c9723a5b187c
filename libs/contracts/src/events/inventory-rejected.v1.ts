import { z } from 'zod';
import { Sku, Uuid } from './shared';

export const InventoryRejectedV1 = z.object({
  orderId: Uuid,
  reason: z.literal('OUT_OF_STOCK'),
  missing: z.array(
    z.object({
      sku: Sku,
      requested: z.int().min(1),
      available: z.int().min(0),
    }),
  ),
});
export type InventoryRejectedV1Data = z.infer<typeof InventoryRejectedV1>;
