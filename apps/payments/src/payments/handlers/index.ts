import { CancelPaymentOnOrderCancelled } from './cancel-payment-on-order-cancelled.handler';
import { CapturePaymentOnInventoryReserved } from './capture-payment-on-inventory-reserved.handler';
import { RememberPaymentOnOrderPlaced } from './remember-payment-on-order-placed.handler';

/** Payments' subscriptions, one queue each. */
export const PAYMENT_HANDLERS = [
  RememberPaymentOnOrderPlaced,
  CapturePaymentOnInventoryReserved,
  CancelPaymentOnOrderCancelled,
];
