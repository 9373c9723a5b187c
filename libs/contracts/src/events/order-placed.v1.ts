import { z } from 'zod';
import { CustomerId, Quantity, Sku, Uuid } from './shared';

export const OrderPlacedV1 = z.object({
  orderId: Uuid,
  customerId: CustomerId,
  items: z
    .array(z.object({ sku: Sku, quantity: Quantity }))
    .min(1)
    .max(50),
  paymentToken: z.string().min(1).max(128),
});
export type OrderPlacedV1Data = z.infer<typeof OrderPlacedV1>;
