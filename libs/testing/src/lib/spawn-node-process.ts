import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { killOnExit } from './kill-on-exit';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  readonly pid: number;
  readonly name: string;
  /** Sends `signal` (SIGTERM by default) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
  /** Resolves when the process has exited, never rejects. */
  readonly exited: Promise<ChildExit>;
  /** True until the process has exited. */
  running(): boolean;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects on timeout or if the process exits first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface SpawnNodeProcessOptions {
  /** Added to this process's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Prefix of its output lines with DEBUG_CHILDREN=1; the file's name by default. */
  name?: string;
  /** Working directory; the workspace root by default. */
  cwd?: string;
  /** False: the process gets `env` only, nothing of this process's environment. True by default. */
  inheritEnv?: boolean;
}

const OUTPUT_LIMIT = 1024 * 1024;

/**
 * Runs an entry file as a real Node process: a TypeScript one through `node -r @swc-node/register`,
 * with the workspace's path aliases (`@shop/*`) and decorator metadata; a JavaScript one (a built
 * app, `dist/apps/<app>/main.js`) as it is.
 * Its output is kept for `output()` / `waitForOutput()` and shown on stderr, each line prefixed with
 * `[name]`, only when `DEBUG_CHILDREN=1`. It is killed when the test process exits.
 */
export function spawnNodeProcess(entryTsFile: string, options: SpawnNodeProcessOptions = {}): ChildHandle {
  const entry = resolve(entryTsFile);
  const name = options.name ?? basename(entry).replace(/\.[cm]?[jt]s$/, '');
  const root = workspaceRoot();
  const env: NodeJS.ProcessEnv = { SWC_NODE_PROJECT: join(root, 'tsconfig.base.json') };
  const inherited = options.inheritEnv === false ? {} : process.env;
  for (const [key, value] of Object.entries({ ...inherited, ...options.env })) {
    if (value !== undefined) env[key] = value;
    else delete env[key];
  }

  const child = spawn(
    process.execPath,
    [
      ...(/\.[cm]?ts$/.test(entry) ? ['-r', require.resolve('@swc-node/register')] : []),
      '-r',
      require.resolve('./exit-with-parent.js'),
      entry,
    ],
    { cwd: options.cwd ?? root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );

  let output = '';
  const listeners = new Set<() => void>();
  const debug = process.env['DEBUG_CHILDREN'] === '1';
  const record = (stream: 'stdout' | 'stderr') => {
    let partialLine = '';
    return (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-OUTPUT_LIMIT);
      if (debug) {
        const lines = (partialLine + text).split('\n');
        partialLine = lines.pop() ?? '';
        for (const line of lines) process.stderr.write(`[${name}${stream === 'stderr' ? ' !' : ''}] ${line}\n`);
      }
      for (const listener of listeners) listener();
    };
  };
  child.stdout?.on('data', record('stdout'));
  child.stderr?.on('data', record('stderr'));

  let exit: ChildExit | undefined;
  const forget = killOnExit(() => {
    if (!exit) child.kill('SIGKILL');
  });
  const exited = new Promise<ChildExit>((resolveExit) => {
    const done = (result: ChildExit) => {
      if (exit) return;
      exit = result;
      forget();
      resolveExit(result);
      for (const listener of listeners) listener();
    };
    child.once('error', (error) => {
      output += `\n[spawn error] ${error.message}\n`;
      done({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => done({ code, signal }));
  });

  return {
    pid: child.pid ?? -1,
    name,
    exited,
    output: () => output,
    running: () => !exit,
    kill: (signal = 'SIGTERM') => {
      if (!exit) child.kill(signal);
      return exited;
    },
    waitForOutput: (pattern, timeoutMs = 10_000) =>
      new Promise<RegExpMatchArray>((resolveMatch, reject) => {
        const single = new RegExp(pattern.source, pattern.flags.replace('g', ''));
        const finish = (error?: Error, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (match) resolveMatch(match);
          else reject(error);
        };
        const check = () => {
          const match = output.match(single);
          if (match) finish(undefined, match);
          else if (exit)
            finish(
              new Error(
                `[${name}] exited (${describeExit(exit)}) without printing ${pattern}. Output:\n${tail(output)}`,
              ),
            );
        };
        const timer = setTimeout(
          () =>
            finish(
              new Error(
                `[${name}] printed nothing matching ${pattern} within ${timeoutMs} ms. Output:\n${tail(output)}`,
              ),
            ),
          timeoutMs,
        );
        listeners.add(check);
        check();
      }),
  };
}

/** The directory holding tsconfig.base.json, above this file. */
export function workspaceRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tsconfig.base.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

function tail(text: string): string {
  return text.slice(-4_000);
}
