import { existsSync } from 'node:fs';
import { freePort, spawnNodeProcess, type ChildExit } from '@shop/testing';
import { builtTool, tail } from './app-process';
import type { System } from './system';

export const BUILD_CONSOLE = 'npx nx build console';

/** The operations console (dist/apps/console) as a real process, pointed at a running system. */
export interface ConsoleProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  running(): boolean;
  output(): string;
  /** SIGTERM, resolving once it has exited. */
  stop(): Promise<ChildExit>;
}

export interface StartConsoleOptions {
  /** Environment over the defaults (the apps' URLs, LOG_LEVEL); `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  readyTimeoutMs?: number;
}

/**
 * Starts `node dist/apps/console/main.js` on a free port with ORDERS_URL ... BRIDGE_URL naming the
 * system's first replica of each app (whether it runs or not: the console shows it down), and waits
 * until its /health/ready answers 200 (the page is built). Build it first: `npx nx build console`.
 */
export async function startConsole(system: System, options: StartConsoleOptions = {}): Promise<ConsoleProcess> {
  let main: string;
  try {
    main = builtTool('console');
  } catch {
    throw new Error(`dist/apps/console/main.js is missing: build the console with \`${BUILD_CONSOLE}\``);
  }
  const page = main.replace(/main\.js$/, 'public/index.html');
  if (!existsSync(page)) throw new Error(`${page} is missing: build the console with \`${BUILD_CONSOLE}\``);
  const port = await freePort();
  const urlOf = (app: Parameters<System['url']>[0]) => {
    try {
      return system.url(app);
    } catch {
      return 'http://127.0.0.1:9'; // not part of this system: shown as down
    }
  };
  const debug = process.env['DEBUG_CHILDREN'] === '1';
  const env: Record<string, string | undefined> = {
    PATH: process.env['PATH'],
    NO_COLOR: '1',
    LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? (debug ? 'log' : 'warn'),
    PORT: String(port),
    ORDERS_URL: urlOf('orders'),
    INVENTORY_URL: urlOf('inventory'),
    PAYMENTS_URL: urlOf('payments'),
    NOTIFICATIONS_URL: urlOf('notifications'),
    BRIDGE_URL: urlOf('bridge'),
    ...options.env,
  };
  const child = spawnNodeProcess(main, { env, name: 'console#0', inheritEnv: false });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let exit: ChildExit | undefined;
  void child.exited.then((result) => (exit = result));
  for (;;) {
    if (exit) throw new Error(`[console] exited before it was ready. Output:\n${tail(child.output())}`);
    try {
      const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.status === 200) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      await child.kill('SIGKILL');
      throw new Error(`[console] not ready on port ${port}. Output:\n${tail(child.output())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    port,
    running: child.running,
    output: child.output,
    stop: async () => (child.running() ? child.kill('SIGTERM') : child.exited),
  };
}
