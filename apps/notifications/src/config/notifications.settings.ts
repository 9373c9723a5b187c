import { commonSettings } from '@shop/platform';
import type { z } from 'zod';

export const notificationsSettings = commonSettings({ port: 3004, database: 'notifications' });
export type NotificationsSettings = z.infer<z.ZodObject<typeof notificationsSettings>>;
export const NOTIFICATIONS_SETTINGS = Symbol('NOTIFICATIONS_SETTINGS');
