import { defineEvent, type EventData } from '../define-event';
import { NotificationSentV1 } from './notification-sent.v1';

export const NotificationSent = defineEvent({
  type: 'notification.sent',
  producer: 'notifications',
  consumers: [],
  description: 'Notifications told a customer about their order (once per order and kind).',
  versions: [NotificationSentV1],
  upcasters: [],
});
export type NotificationSentData = EventData<typeof NotificationSent>;
