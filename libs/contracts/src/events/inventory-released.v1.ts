import { z } from 'zod';
import { Quantity, Sku, Uuid } from './shared';

export const InventoryReleasedV1 = z.object({
  orderId: Uuid,
  lines: z.array(z.object({ sku: Sku, quantity: Quantity })),
});
export type InventoryReleasedV1Data = z.infer<typeof InventoryReleasedV1>;
