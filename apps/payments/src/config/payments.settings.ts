import { commonSettings, setting } from '@shop/platform';
import type { z } from 'zod';

export const paymentsSettings = {
  ...commonSettings({ port: 3003, database: 'payments' }),
  /** Totals over this many cents are declined with amount_limit. */
  PAYMENTS_MAX_AMOUNT: setting.integer(1_000_000, 0),
  /** Share (0 to 1) of provider calls that fail transiently, to be retried. */
  PAYMENTS_TRANSIENT_FAILURE_RATE: setting.fraction(0),
};

export type PaymentsSettings = z.infer<z.ZodObject<typeof paymentsSettings>>;
export const PAYMENTS_SETTINGS = Symbol('PAYMENTS_SETTINGS');
