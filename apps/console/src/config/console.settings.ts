import { LOG_LEVELS, setting } from '@shop/platform';
import { z } from 'zod';

/** The apps the console reads, in the order the page shows them, with their SPEC.md ports. */
export const UPSTREAM_APPS = [
  { name: 'orders', setting: 'ORDERS_URL', port: 3001 },
  { name: 'inventory', setting: 'INVENTORY_URL', port: 3002 },
  { name: 'payments', setting: 'PAYMENTS_URL', port: 3003 },
  { name: 'notifications', setting: 'NOTIFICATIONS_URL', port: 3004 },
  { name: 'bridge', setting: 'BRIDGE_URL', port: 3005 },
] as const;
export type UpstreamApp = (typeof UPSTREAM_APPS)[number]['name'];

const httpUrl = (port: number) => setting.url(`http://localhost:${port}`, ['http:', 'https:']);

/**
 * The console's settings (SPEC.md: port 3006, no database, no broker): where the apps are, and how
 * it reads them. Read from the environment and checked at start, one line naming a bad one.
 */
export const consoleSettings = {
  PORT: setting.port(3006),
  ORDERS_URL: httpUrl(3001),
  INVENTORY_URL: httpUrl(3002),
  PAYMENTS_URL: httpUrl(3003),
  NOTIFICATIONS_URL: httpUrl(3004),
  BRIDGE_URL: httpUrl(3005),
  /** Jaeger's UI (`http://localhost:16686`): each step links to its trace there. Unset: no links. */
  JAEGER_UI_URL: setting.optionalUrl(['http:', 'https:']),
  /**
   * A bearer token the console sends to every app when their authentication is on: its `sub` is the
   * customer orders are placed for, and it needs the scope `admin` (dead letters, the archive) and
   * `payments:read`. Kept on the server only; whoever reaches the console acts with it.
   */
  CONSOLE_API_TOKEN: setting.secret(16),
  /** How often an order being watched is looked up in orders' archive (GET /events?after=). */
  CONSOLE_TAIL_INTERVAL_MS: setting.integer(300, 50, 10_000),
  /** How often every app's readiness, metrics and dead letters are read for the page. */
  CONSOLE_STATUS_INTERVAL_MS: setting.integer(2_000, 250, 60_000),
  /** How long one call to an app may take before it counts as not answering. */
  CONSOLE_UPSTREAM_TIMEOUT_MS: setting.integer(3_000, 100, 60_000),
  /** Minutes of "orders by status" the chart keeps. */
  CONSOLE_HISTORY_MINUTES: setting.integer(15, 1, 240),
  /** Where the built page is; by default `public/` beside main.js (dist/apps/console/public). */
  CONSOLE_STATIC_DIR: z.string().optional(),
  LOG_LEVEL: setting.oneOf(LOG_LEVELS, 'log'),
  /** json (one object per line, the default) or pretty (readable, for development). */
  LOG_FORMAT: setting.oneOf(['json', 'pretty'] as const, 'json'),
};

export type ConsoleSettings = z.infer<z.ZodObject<typeof consoleSettings>>;

/** The base URL of each app, from the settings. */
export function upstreamUrls(settings: ConsoleSettings): Record<UpstreamApp, string> {
  return Object.fromEntries(
    UPSTREAM_APPS.map((app) => [app.name, settings[app.setting].replace(/\/+$/, '')]),
  ) as Record<UpstreamApp, string>;
}

export const CONSOLE_SETTINGS = Symbol('CONSOLE_SETTINGS');
