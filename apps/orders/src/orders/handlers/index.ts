import { CancelOrderOnInventoryRejected } from './cancel-order-on-inventory-rejected.handler';
import { CancelOrderOnPaymentDeclined } from './cancel-order-on-payment-declined.handler';
import { ConfirmOrderOnPaymentCaptured } from './confirm-order-on-payment-captured.handler';
import { PriceOrderOnInventoryReserved } from './price-order-on-inventory-reserved.handler';

/**
 * The order saga's subscriptions, one queue each: what the other services report about an order
 * (each moves it forward, never back).
 */
export const ORDER_HANDLERS = [
  PriceOrderOnInventoryReserved,
  CancelOrderOnInventoryRejected,
  ConfirmOrderOnPaymentCaptured,
  CancelOrderOnPaymentDeclined,
];
