import { z } from 'zod';
import { CustomerId, NotificationKind, Uuid } from './shared';

export const NotificationSentV1 = z.object({
  orderId: Uuid,
  notificationId: Uuid,
  customerId: CustomerId,
  kind: NotificationKind,
});
export type NotificationSentV1Data = z.infer<typeof NotificationSentV1>;
