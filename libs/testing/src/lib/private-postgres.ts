import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './free-port';
import { dockerAvailable } from './private-broker';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** Admin URL (`postgres` user, trust auth, database `postgres`). */
  url: string;
  dir: string;
  /** `pg_ctl restart -m fast`: every connection is dropped; resolves once it accepts connections again. */
  restart(): Promise<void>;
  /**
   * Stops the server (`pg_ctl stop -m fast`: sessions terminated, new connections refused), keeps it
   * down for `downMs`, starts it again on the same data and port; resolves once it accepts
   * connections, with how long it was unreachable. `onDown` runs as soon as it is down.
   */
  outage(downMs: number, onDown?: () => void): Promise<{ unreachableMs: number }>;
  /** Stops the cluster (immediate) and deletes its directory. */
  stop(): Promise<void>;
}

/**
 * Stops the cluster when the parent process is gone (SIGKILL included), then deletes its directory.
 * Leaves by itself once the directory is gone.
 */
const WATCHDOG_SOURCE = `
const fs = require('node:fs');
const path = require('node:path');
const parent = Number(process.argv[1]);
const dir = process.argv[2];
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const postmaster = () => { try { return Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\\n')[0]) || 0; } catch { return 0; } };
const watch = setInterval(() => {
  if (!fs.existsSync(dir)) process.exit(0);
  if (alive(parent)) return;
  clearInterval(watch);
  const pid = postmaster();
  if (pid) { try { process.kill(pid, 'SIGQUIT'); } catch {} }
  const deadline = Date.now() + 15000;
  const reap = () => {
    if (pid && alive(pid) && Date.now() < deadline) return setTimeout(reap, 200);
    if (pid && alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch {} }
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  reap();
}, 1000);
`;

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error(`${name} not found under ${base}: install PostgreSQL's server package`);
  return join(base, versions[0], 'bin', name);
}

/** initdb refuses to run as root: run the server binaries as `postgres` then. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

async function pg(command: string, args: string[], timeoutMs = 60_000) {
  const [cmd, argv] = asPostgres(pgBin(command), args);
  try {
    return await run(cmd, argv, { timeout: timeoutMs });
  } catch (error) {
    const e = error as Error & { stderr?: string; stdout?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/**
 * A PostgreSQL cluster of its own: with this machine's PostgreSQL server binaries, in a temporary
 * directory on a free port; without them (a contributor with Docker only), a container bound to a
 * fixed free port, so that its URL survives `restart()`.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  try {
    pgBin('initdb');
  } catch (noServer) {
    if (await dockerAvailable()) return startContainerPostgres();
    throw noServer;
  }
  return startLocalPostgres();
}

async function startContainerPostgres(): Promise<PrivatePostgres> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const port = await freePort();
  const container = await new PostgreSqlContainer('postgres:17-alpine')
    .withExposedPorts({ container: 5432, host: port })
    .withCommand(['postgres', '-c', 'max_connections=300', '-c', 'fsync=off'])
    .start();
  const url = `postgres://${container.getUsername()}:${container.getPassword()}@${container.getHost()}:${port}/postgres`;
  return {
    url,
    dir: '',
    restart: async () => {
      await container.restart();
      await waitUntilAccepting(url);
    },
    outage: async (downMs, onDown) => {
      // Stopped and started as Docker does it, so that the port mapping and the data stay.
      const { getContainerRuntimeClient } = await import('testcontainers');
      const runtime = await getContainerRuntimeClient();
      const handle = runtime.container.getById(container.getId());
      const start = Date.now();
      await runtime.container.stop(handle, { timeout: 10_000 });
      onDown?.();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await runtime.container.start(handle);
      await waitUntilAccepting(url);
      return { unreachableMs: Date.now() - start };
    },
    stop: async () => {
      await container.stop();
    },
  };
}

async function waitUntilAccepting(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`private PostgreSQL at ${url} not ready: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function startLocalPostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'shop-test-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=300',
    // a throwaway cluster: durability across an OS crash is not what is tested (pg_ctl restart is)
    '-c fsync=off',
    '-c synchronous_commit=on',
  ].join(' ');
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ready = () => waitUntilAccepting(url);
  const stopNow = async () => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (pid) process.kill(pid, 'SIGKILL');
      });
    }
    await rm(dir, { recursive: true, force: true });
    if (watchdog.pid) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
    await ready();
  } catch (error) {
    await stopNow().catch(() => undefined);
    throw error;
  }
  return {
    url,
    dir,
    restart: async () => {
      await pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-m', 'fast', '-w', 'restart']);
      await ready();
    },
    outage: async (downMs, onDown) => {
      const start = Date.now();
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      onDown?.();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
      await ready();
      return { unreachableMs: Date.now() - start };
    },
    stop: stopNow,
  };
}
