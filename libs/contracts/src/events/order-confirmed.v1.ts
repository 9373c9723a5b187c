import { z } from 'zod';
import { Cents, Currency, CustomerId, Uuid } from './shared';

export const OrderConfirmedV1 = z.object({
  orderId: Uuid,
  customerId: CustomerId,
  total: Cents,
  currency: Currency,
});
export type OrderConfirmedV1Data = z.infer<typeof OrderConfirmedV1>;
