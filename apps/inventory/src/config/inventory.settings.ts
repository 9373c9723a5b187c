import { commonSettings } from '@shop/platform';
import type { z } from 'zod';

/** Inventory's settings: the environment, read and validated by runApp at start (a bad one stops it with one line). */
export const inventorySettings = commonSettings({ port: 3002, database: 'inventory' });
export type InventorySettings = z.infer<z.ZodObject<typeof inventorySettings>>;
