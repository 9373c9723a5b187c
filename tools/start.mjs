#!/usr/bin/env node
/**
 * `npm start`: builds the four apps, the HTTP bridge and the operations console and runs them against the local
 * RabbitMQ and PostgreSQL (the console, http://localhost:3006, reads the others over HTTP only).
 *
 * 1. Checks that RabbitMQ (TCP, then an AMQP handshake) and PostgreSQL (a connection) answer, and that
 *    the apps' ports are free; if not, prints one line saying what to do and exits 1.
 * 2. Builds: `npx nx run-many -t build -p orders inventory payments notifications bridge console`.
 * 3. Runs `node dist/apps/<app>/main.js` for each, every output line prefixed with the app's name.
 *
 * Ctrl-C (or SIGTERM) sends SIGTERM to every app, waits until they have drained and exits 0; a second
 * Ctrl-C kills them outright. If an app dies on its own, the others are stopped and the exit code is 1.
 *
 * Settings: RABBITMQ_URL is passed to every app as it is. DATABASE_URL, when set, names the server: each
 * app gets its own database on it (`.../orders`, ...), never a shared one. PORT is each app's own (SPEC.md);
 * every other variable is passed through (LOG_LEVEL, ORDER_TIMEOUT_MS, PAYMENTS_*, ...).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const APPS = [
  { name: 'orders', port: 3001, color: 36 },
  { name: 'inventory', port: 3002, color: 33 },
  { name: 'payments', port: 3003, color: 35 },
  { name: 'notifications', port: 3004, color: 32 },
  { name: 'bridge', port: 3005, color: 34 },
  { name: 'console', port: 3006, color: 37 },
];
const BUILD_ARGS = ['run-many', '-t', 'build', '-p', ...APPS.map((app) => app.name)];
const CHECK_TIMEOUT_MS = 3_000;
/** How long the apps get to drain after SIGTERM before they are killed. */
const STOP_TIMEOUT_MS = 30_000;
/** npm forwards the terminal's Ctrl-C to its script, which gets it from the terminal as well: one press. */
const SAME_SIGNAL_MS = 1_000;

const env = process.env;
const RABBITMQ_URL = env.RABBITMQ_URL || 'amqp://guest:guest@localhost:5672';
const DATABASE_SERVER = env.DATABASE_URL || 'postgres://postgres@localhost:5432/postgres';
const COLORS = env.FORCE_COLOR ? env.FORCE_COLOR !== '0' : Boolean(process.stdout.isTTY) && !env.NO_COLOR;

/**
 * Preloaded into every app: should this script be killed outright (SIGKILL), the app is re-parented and
 * then stops itself (SIGTERM, so its graceful shutdown runs) instead of holding its port.
 */
const EXIT_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  "const parent = process.ppid; setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM'); }, 1000).unref();",
)}`;

/** checking, building, interrupted (during the build), running, stopping (asked to), failed (an app died). */
let phase = 'checking';
let build;
const running = new Map();
let stopRequestedAt = 0;
let exitCode = 0;

main().catch((error) => {
  console.error(`npm start: ${error?.stack ?? error}`);
  stopAll('SIGKILL');
  process.exit(1);
});

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => onSignal(signal));
  process.chdir(ROOT);

  const problems = (await Promise.all([checkBroker(), checkDatabase()])).filter(Boolean);
  if (problems.length) fail(describeServicesDown(problems));
  const busy = (await Promise.all(APPS.map(async (app) => ((await portFree(app.port)) ? null : app)))).filter(Boolean);
  if (busy.length) {
    const list = busy.map((app) => `${app.port} (${app.name})`).join(', ');
    fail(
      `port${busy.length > 1 ? 's' : ''} ${list} already in use: stop what listens there (\`ss -ltnp 'sport = :${busy[0].port}'\` shows it; an earlier \`npm start\` or \`docker compose up\`?)`,
    );
  }

  phase = 'building';
  console.log(`npm start: building: npx nx ${BUILD_ARGS.join(' ')}`);
  const built = await runBuild();
  if (phase !== 'building') process.exit(130);
  if (!built) fail(`the build failed (see above): fix it, or run \`npx nx ${BUILD_ARGS.join(' ')}\` alone`);

  phase = 'running';
  if (env.DATABASE_URL) {
    console.log(`npm start: DATABASE_URL names the server; each app uses its own database there`);
  }
  for (const app of APPS) startApp(app);
  void announceWhenReady();
}

/** One line, then exit 1. */
function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function onSignal(signal) {
  if (phase === 'checking') process.exit(130);
  if (phase === 'building') {
    phase = 'interrupted';
    build?.kill(signal);
    return;
  }
  if (phase === 'stopping' || phase === 'failed') {
    if (Date.now() - stopRequestedAt > SAME_SIGNAL_MS) {
      console.log('npm start: killing the apps');
      stopAll('SIGKILL');
    }
    return;
  }
  phase = 'stopping';
  console.log(`npm start: ${signal}: stopping the apps (they finish what they are doing first)`);
  requestStop();
}

function requestStop() {
  stopRequestedAt = Date.now();
  stopAll('SIGTERM');
  setTimeout(() => {
    if (!running.size) return;
    console.error(
      `npm start: ${[...running.keys()].join(', ')} still running after ${STOP_TIMEOUT_MS / 1000} s: killing`,
    );
    stopAll('SIGKILL');
  }, STOP_TIMEOUT_MS).unref();
}

function stopAll(signal) {
  for (const child of running.values()) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function startApp(app) {
  const childEnv = { ...env, PORT: String(app.port) };
  if (env.DATABASE_URL) childEnv.DATABASE_URL = databaseUrlFor(app.name);
  if (!COLORS && !env.FORCE_COLOR) childEnv.NO_COLOR = '1';
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', EXIT_WITH_PARENT, join('dist', 'apps', app.name, 'main.js')],
    // Its own process group: the terminal's Ctrl-C reaches this script only, which then sends one SIGTERM
    // (a second signal during Nest's graceful shutdown would kill the app on the spot).
    { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  running.set(app.name, child);
  const prefix = label(app);
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${prefix}${line}\n`));
  }
  child.on('error', (error) => {
    console.error(`${prefix}could not start: ${error.message}`);
  });
  child.on('close', (code, signal) => {
    running.delete(app.name);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (phase === 'running') {
      phase = 'failed';
      console.error(`npm start: ${app.name} exited on its own (${how}): stopping the others`);
      requestStop();
    } else {
      const expected = code === 0 || signal === 'SIGTERM' || signal === 'SIGINT';
      if (!expected) exitCode = 1;
      console.log(`${prefix}${expected ? 'stopped' : `stopped (${how})`}`);
    }
    if (running.size === 0) process.exit(phase === 'failed' ? 1 : exitCode);
  });
}
function label(app) {
  const name = app.name.padEnd(Math.max(...APPS.map((a) => a.name.length)));
  return COLORS ? `\x1b[${app.color}m${name} |\x1b[0m ` : `${name} | `;
}

function databaseUrlFor(database) {
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function runBuild() {
  return new Promise((resolve) => {
    build = spawn(process.execPath, [require.resolve('nx/bin/nx.js'), ...BUILD_ARGS, '--outputStyle=static'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    build.on('error', () => resolve(false));
    build.on('close', (code) => resolve(code === 0));
  });
}

/** Polls every app's /health/ready and says once when all four answer 200. */
async function announceWhenReady() {
  const deadline = Date.now() + 60_000;
  const ready = new Set();
  while (phase === 'running') {
    await Promise.all(
      APPS.filter((app) => !ready.has(app.name)).map(async (app) => {
        try {
          const response = await fetch(`http://127.0.0.1:${app.port}/health/ready`, {
            signal: AbortSignal.timeout(2_000),
          });
          if (response.ok) ready.add(app.name);
        } catch {
          // not yet
        }
      }),
    );
    if (phase !== 'running') return;
    if (ready.size === APPS.length) {
      const urls = APPS.map((app) => `${app.name} http://localhost:${app.port}`).join(', ');
      console.log(`npm start: ready: ${urls}. Ctrl-C stops them.`);
      return;
    }
    if (Date.now() > deadline) {
      const waiting = APPS.filter((app) => !ready.has(app.name)).map((app) => app.name);
      console.log(`npm start: not ready after 60 s: ${waiting.join(', ')} (see their /health/ready)`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// ---- the broker, the database and the ports ----

async function checkBroker() {
  const url = parseUrl(RABBITMQ_URL, 'RABBITMQ_URL');
  const host = url.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const port = Number(url.port) || (url.protocol === 'amqps:' ? 5671 : 5672);
  const where = `${host}:${port}`;
  const tcp = await tcpAnswers(host, port);
  if (tcp !== true) return { service: 'RabbitMQ', where, host, reason: tcp, down: true };
  const amqp = require('amqplib');
  try {
    const connection = await amqp.connect(RABBITMQ_URL, { timeout: CHECK_TIMEOUT_MS });
    connection.on('error', () => undefined);
    await connection.close();
    return null;
  } catch (error) {
    return { service: 'RabbitMQ', where, host, reason: describe(error), down: false, url: redact(RABBITMQ_URL) };
  }
}

async function checkDatabase() {
  const admin = parseUrl(DATABASE_SERVER, 'DATABASE_URL');
  admin.pathname = '/postgres';
  const host = admin.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const where = `${host}:${Number(admin.port) || 5432}`;
  const { Client } = require('pg');
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    const refused = /ECONNREFUSED|ENOENT|ETIMEDOUT|EHOSTUNREACH|timeout/i.test(`${error?.code} ${describe(error)}`);
    return { service: 'PostgreSQL', where, host, reason: describe(error), down: refused, url: redact(admin) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function describeServicesDown(problems) {
  const notUp = problems.filter((problem) => problem.down);
  const refusing = problems.filter((problem) => !problem.down);
  const parts = [];
  if (notUp.length) {
    const names = notUp.map((problem) => `${problem.service} (${problem.where}: ${problem.reason})`).join(' and ');
    const local = notUp.every((problem) => isLocal(problem.host));
    parts.push(
      `${names} ${notUp.length > 1 ? 'do' : 'does'} not answer: ` +
        (local
          ? `start ${notUp.length > 1 ? 'them' : 'it'} with ${startCommands(notUp)}`
          : 'check RABBITMQ_URL / DATABASE_URL'),
    );
  }
  for (const problem of refusing) {
    parts.push(`${problem.service} at ${problem.url} answers but refuses the connection: ${problem.reason}`);
  }
  return parts.join('; ');
}

function startCommands(problems) {
  const local = [];
  for (const problem of problems) {
    if (problem.service === 'RabbitMQ' && onPath('rabbitmq-server')) local.push('`rabbitmq-server -detached`');
    if (problem.service === 'PostgreSQL' && onPath('pg_ctlcluster')) {
      let versions = [];
      try {
        versions = readdirSync('/etc/postgresql');
      } catch {
        // no Debian cluster
      }
      const version = versions.length === 1 ? versions[0] : '$(ls /etc/postgresql)';
      local.push(`\`pg_ctlcluster --skip-systemctl-redirect ${version} main start\``);
    }
  }
  const docker = `\`docker compose up -d ${problems.length > 1 ? 'rabbitmq postgres' : problems[0].service === 'RabbitMQ' ? 'rabbitmq' : 'postgres'}\``;
  return local.length === problems.length ? `${local.join(' and ')}, or ${docker}` : docker;
}

function tcpAnswers(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(CHECK_TIMEOUT_MS, () => done(`no answer in ${CHECK_TIMEOUT_MS / 1000} s`));
    socket.once('connect', () => done(true));
    socket.once('error', (error) => done(describe(error)));
  });
}

/** Whether an app could listen on `port` (as Nest does: every interface). */
function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

function onPath(command) {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function isLocal(host) {
  return ['localhost', '127.0.0.1', '::1', '0.0.0.0', ''].includes(host) || host.startsWith('127.');
}

function parseUrl(value, name) {
  try {
    return new URL(value);
  } catch {
    fail(`${name} is not a URL: ${JSON.stringify(value)}`);
  }
}

function redact(value) {
  const url = new URL(String(value));
  if (url.password) url.password = '***';
  return url.toString();
}

/** Node's connection errors can be AggregateErrors (IPv4 and IPv6 tried) with an empty message. */
function describe(error) {
  if (!error) return String(error);
  if (error.message) return error.message;
  if (Array.isArray(error.errors) && error.errors.length) return error.errors.map(describe).join(', ');
  return error.code || String(error);
}
