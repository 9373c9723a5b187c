import { z } from 'zod';
import { CancellationReason, CustomerId, Uuid } from './shared';

export const OrderCancelledV1 = z.object({
  orderId: Uuid,
  customerId: CustomerId,
  reason: CancellationReason,
  previousStatus: z.enum(['PENDING', 'CONFIRMED']),
});
export type OrderCancelledV1Data = z.infer<typeof OrderCancelledV1>;
