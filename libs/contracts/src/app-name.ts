/** The four apps; each owns the topic exchange of the same name and the events published to it. */
export const APP_NAMES = ['orders', 'inventory', 'payments', 'notifications'] as const;

export type AppName = (typeof APP_NAMES)[number];
