import { commonSettings, setting } from '@shop/platform';
import type { z } from 'zod';

export const ordersSettings = {
  ...commonSettings({ port: 3001, database: 'orders' }),
  /** An order still PENDING this long is cancelled with TIMEOUT. */
  ORDER_TIMEOUT_MS: setting.integer(60_000, 100),
};

export type OrdersSettings = z.infer<z.ZodObject<typeof ordersSettings>>;
export const ORDERS_SETTINGS = Symbol('ORDERS_SETTINGS');
