import { NotifyCustomerOnOrderCancelled } from './notify-customer-on-order-cancelled.handler';
import { NotifyCustomerOnOrderConfirmed } from './notify-customer-on-order-confirmed.handler';
import { NotifyCustomerOnPaymentRefunded } from './notify-customer-on-payment-refunded.handler';

/** Notifications' subscriptions, one queue each: one notification per order and kind. */
export const NOTIFICATION_HANDLERS = [
  NotifyCustomerOnOrderConfirmed,
  NotifyCustomerOnOrderCancelled,
  NotifyCustomerOnPaymentRefunded,
];
