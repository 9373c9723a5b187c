import { existsSync } from 'node:fs';
import { spawnNodeProcess, type ChildExit } from '@shop/testing';
import { dirname, join } from 'node:path';

/** The saga's four apps: what a system runs unless told otherwise. */
export const APPS = ['orders', 'inventory', 'payments', 'notifications'] as const;
/** Every app of the workspace: the saga's and the HTTP bridge. */
export const ALL_APPS = [...APPS, 'bridge'] as const;
export type AppName = (typeof ALL_APPS)[number];

export const BUILD_COMMAND = 'npx nx run-many -t build -p orders inventory payments notifications bridge broker-access';

export { freePort, type ChildExit } from '@shop/testing';

/** One running app process: `node dist/apps/<app>/main.js`. */
export interface AppProcess {
  readonly app: AppName;
  /** `orders#0`: the prefix of its output lines with DEBUG_CHILDREN=1. */
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Resolves once the process has exited; never rejects. */
  readonly exited: Promise<ChildExit>;
  running(): boolean;
  /** Sends `signal` (SIGTERM by default) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
  /** Everything it wrote so far (the last MiB), stdout and stderr interleaved. */
  output(): string;
}

export interface SpawnAppOptions {
  port: number;
  /** The whole environment of the process (nothing is inherited implicitly). */
  env: Record<string, string>;
  name: string;
}

const ROOT = workspaceRoot();

/** `dist/apps/<app>/main.js`, or an error naming the build command when it is not there. */
export function builtApp(app: AppName): string {
  return builtTool(app);
}

/** `dist/apps/<name>/main.js` of any app of the workspace (`broker-access` too), as `builtApp`. */
export function builtTool(name: string): string {
  const file = join(ROOT, 'dist', 'apps', name, 'main.js');
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: build the apps first with \`${BUILD_COMMAND}\` (npm test does it)`);
  }
  return file;
}

/**
 * Starts a built app as a real process (`spawnNodeProcess` of @shop/testing: output kept, shown with
 * DEBUG_CHILDREN=1, killed when the test process exits, stopping by itself when that is killed outright).
 */
export function spawnApp(app: AppName, options: SpawnAppOptions): AppProcess {
  const child = spawnNodeProcess(builtApp(app), { env: options.env, name: options.name, inheritEnv: false });
  return {
    app,
    name: options.name,
    pid: child.pid,
    port: options.port,
    baseUrl: `http://127.0.0.1:${options.port}`,
    exited: child.exited,
    running: child.running,
    kill: child.kill,
    output: child.output,
  };
}

/**
 * Polls `GET /health/ready` until it answers 200. Fails at once if the process exits, and on timeout;
 * either error carries the tail of the process's output.
 */
export async function waitUntilReady(proc: AppProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  let exit: ChildExit | undefined;
  void proc.exited.then((result) => (exit = result));
  while (Date.now() < deadline) {
    if (exit) {
      throw new Error(
        `[${proc.name}] exited (${describeExit(exit)}) before it was ready. Output:\n${tail(proc.output())}`,
      );
    }
    try {
      const response = await fetch(`${proc.baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) {
        await response.body?.cancel();
        return;
      }
      last = `GET /health/ready answered ${response.status}: ${(await response.text()).slice(0, 500)}`;
    } catch (error) {
      last = `GET /health/ready failed: ${(error as Error).message}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `[${proc.name}] not ready within ${timeoutMs} ms on port ${proc.port} (${last}). Output:\n${tail(proc.output())}`,
  );
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopProcess(proc: AppProcess, graceMs = 15_000): Promise<ChildExit> {
  if (!proc.running()) return proc.exited;
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  const result = await Promise.race([proc.kill('SIGTERM'), killed]);
  clearTimeout(timer);
  if (result === 'timeout') {
    process.stderr.write(`[${proc.name}] still running ${graceMs} ms after SIGTERM: killed\n`);
    return proc.kill('SIGKILL');
  }
  return result;
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

export function tail(text: string, chars = 4_000): string {
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}

/** The directory holding nx.json, above this file. */
function workspaceRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
