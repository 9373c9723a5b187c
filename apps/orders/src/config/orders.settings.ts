import { commonSettings, setting } from '@shop/platform';
import type { z } from 'zod';

/** Orders' settings: the environment, read and validated by runApp at start (a bad one stops it with one line). */
export const ordersSettings = {
  ...commonSettings({ port: 3001, database: 'orders' }),
  /** An order still PENDING this long is cancelled with TIMEOUT. */
  ORDER_TIMEOUT_MS: setting.integer(60_000, 100),
};

export type OrdersSettings = z.infer<z.ZodObject<typeof ordersSettings>>;
/** The injection token of the settings (OrderTimeoutsService reads ORDER_TIMEOUT_MS). */
export const ORDERS_SETTINGS = Symbol('ORDERS_SETTINGS');
