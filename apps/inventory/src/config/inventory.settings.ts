import { commonSettings } from '@shop/platform';
import type { z } from 'zod';

export const inventorySettings = commonSettings({ port: 3002, database: 'inventory' });
export type InventorySettings = z.infer<z.ZodObject<typeof inventorySettings>>;
