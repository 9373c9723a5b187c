import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export const APPS = ['orders', 'inventory', 'payments', 'notifications'] as const;
export type AppName = (typeof APPS)[number];

export const BUILD_COMMAND = 'npx nx run-many -t build -p orders inventory payments notifications';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

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

const OUTPUT_LIMIT = 1024 * 1024;
const ROOT = workspaceRoot();
const EXIT_WITH_PARENT = join(__dirname, 'exit-with-parent.js');

/** `dist/apps/<app>/main.js`, or an error naming the build command when it is not there. */
export function builtApp(app: AppName): string {
  const file = join(ROOT, 'dist', 'apps', app, 'main.js');
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: build the apps first with \`${BUILD_COMMAND}\` (npm test does it)`);
  }
  return file;
}

/**
 * Starts a built app as a real process. Its output is kept (see `output()`) and shown on stderr,
 * each line prefixed with `[name]`, only with DEBUG_CHILDREN=1. It is killed when the test process
 * exits, and it stops by itself when the test process is killed outright (exit-with-parent.js).
 */
export function spawnApp(app: AppName, options: SpawnAppOptions): AppProcess {
  const main = builtApp(app);
  const child = spawn(process.execPath, ['-r', EXIT_WITH_PARENT, main], {
    cwd: ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  const debug = process.env['DEBUG_CHILDREN'] === '1';
  const record = (stream: 'stdout' | 'stderr') => {
    let partialLine = '';
    return (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-OUTPUT_LIMIT);
      if (!debug) return;
      const lines = (partialLine + text).split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`[${options.name}${stream === 'stderr' ? ' !' : ''}] ${line}\n`);
    };
  };
  child.stdout?.on('data', record('stdout'));
  child.stderr?.on('data', record('stderr'));

  let exit: ChildExit | undefined;
  const forget = killOnExit(() => {
    if (!exit) child.kill('SIGKILL');
  });
  const exited = new Promise<ChildExit>((resolve) => {
    const done = (result: ChildExit) => {
      if (exit) return;
      exit = result;
      forget();
      resolve(result);
    };
    child.once('error', (error) => {
      output += `\n[spawn error] ${error.message}\n`;
      done({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => done({ code, signal }));
  });

  return {
    app,
    name: options.name,
    pid: child.pid ?? -1,
    port: options.port,
    baseUrl: `http://127.0.0.1:${options.port}`,
    exited,
    running: () => !exit,
    kill: (signal = 'SIGTERM') => {
      if (!exit) child.kill(signal);
      return exited;
    },
    output: () => output,
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

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read the port the OS picked'))));
    });
  });
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

export function tail(text: string, chars = 4_000): string {
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}

/** Last-resort cleanups, run synchronously when the test process exits (also after a forgotten afterAll). */
const cleanups = new Set<() => void>();
let exitHookInstalled = false;

function killOnExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const fn of cleanups) {
        try {
          fn();
        } catch {
          // the process is going away: nothing left to report to
        }
      }
    });
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** The directory holding nx.json, above this file. */
function workspaceRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
