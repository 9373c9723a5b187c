import { admissionSettings, commonSettings, setting } from '@shop/platform';
import type { z } from 'zod';

/** Orders' settings: the environment, read and validated by runApp at start (a bad one stops it with one line). */
export const ordersSettings = {
  ...commonSettings({ port: 3001, database: 'orders' }),
  /** An order still PENDING this long is cancelled with TIMEOUT. */
  ORDER_TIMEOUT_MS: setting.integer(60_000, 100),
  ...admissionSettings(),
  /**
   * Admission control of POST /orders (orders/admission.ts): an order in flight for longer than
   * ADMISSION_SAGA_AGE_MS is queueing; more than ADMISSION_MAX_LATE_ORDERS such orders cut the number
   * of orders admitted in flight at once, and refuse (503, Retry-After) until the saga has caught up.
   * 0 turns the saga-lag signal off.
   */
  ADMISSION_SAGA_AGE_MS: setting.integer(300, 0),
  ADMISSION_MAX_LATE_ORDERS: setting.integer(5, 0),
};

export type OrdersSettings = z.infer<z.ZodObject<typeof ordersSettings>>;
/** The injection token of the settings (OrderTimeoutsService reads ORDER_TIMEOUT_MS). */
export const ORDERS_SETTINGS = Symbol('ORDERS_SETTINGS');
