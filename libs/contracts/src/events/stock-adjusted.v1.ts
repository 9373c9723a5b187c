import { z } from 'zod';
import { Sku } from './shared';

/** A change of a product's stock counted outside the shop (a delivery received, a stock-take). */
export const StockAdjustedV1 = z.object({
  sku: Sku,
  /** Units added (positive) or found missing (negative); never 0. */
  delta: z
    .int()
    .min(-1_000_000)
    .max(1_000_000)
    .refine((delta) => delta !== 0, 'delta must not be 0'),
  /** Why, in the ERP's words: `goods-received`, `stock-take`, ... */
  reason: z.string().min(1).max(200),
});
export type StockAdjustedV1Data = z.infer<typeof StockAdjustedV1>;
