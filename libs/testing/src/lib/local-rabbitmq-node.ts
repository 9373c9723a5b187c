import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { accessSync, constants, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { BROKER_TLS_FILES, brokerTlsConfig, listenersAcceptAmqp, type BrokerTlsOptions } from './broker-tls';
import { freePort } from './free-port';
import { killOnExit, signalQuietly } from './kill-on-exit';
import { BEAM_PID_FILE, startRabbitmqNodeWatchdog, WRAPPER_PID_FILE } from './rabbitmq-node-watchdog';
import { runCommand } from './run-command';
import { testVhostName } from './test-names';
import { sleep, waitFor } from './wait-for';

export interface LocalRabbitmqNodeOptions {
  /** Part of the node name, to tell nodes apart in `ps` and epmd. */
  label: string;
  /** Plugins to enable; none by default. `rabbitmq_management` also gets a free HTTP port. */
  plugins?: readonly string[];
  /** Extra `rabbitmq.conf` lines. */
  config?: readonly string[];
  /** The node's `advanced.config` (Erlang terms), for the settings rabbitmq.conf has no key for. */
  advancedConfig?: string;
  /** How long start and restart may take before giving up; 60 s by default. */
  startTimeoutMs?: number;
  /** A TLS listener (on 127.0.0.1), and then by default no plain one. */
  tls?: BrokerTlsOptions;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const OUTPUT_TAIL_LENGTH = 8_000;

/**
 * Whether this machine can run LocalRabbitmqNode: `rabbitmq-server` (or `RABBITMQ_SERVER_COMMAND`) is an
 * executable on the PATH. A machine with only Docker has none: the clustered suites say so and skip.
 */
export function localRabbitmqInstalled(): boolean {
  const command = process.env['RABBITMQ_SERVER_COMMAND'] || 'rabbitmq-server';
  const candidates = command.includes('/')
    ? [command]
    : (process.env['PATH'] ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * A RabbitMQ node of its own, run from this machine's `rabbitmq-server` (`RABBITMQ_SERVER_COMMAND`
 * names another) with its own node name, ports, data, logs, config and (empty) plugin list, all in
 * one temporary directory. The data directory survives `restart()`, so durable queues and persistent
 * messages do too.
 */
export class LocalRabbitmqNode {
  private child: ChildProcess | undefined;
  private exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  private exit: Exit | undefined;
  private output = '';
  private readonly forgetOnExit: () => void;
  private watchdogPid: number | undefined;

  private constructor(
    readonly nodeName: string,
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    /** The plain AMQP URL; refused when the node takes TLS only. */
    readonly url: string,
    readonly managementUrl: string | undefined,
    private readonly startTimeoutMs: number,
    /** The amqps:// URL of the TLS listener, when there is one. */
    readonly tlsUrl?: string,
    private readonly tls?: BrokerTlsOptions,
  ) {
    this.forgetOnExit = killOnExit(() => this.killNow());
  }

  static async start(options: LocalRabbitmqNodeOptions): Promise<LocalRabbitmqNode> {
    const plugins = options.plugins ?? [];
    const nodeName = `${testVhostName(options.label)}@localhost`;
    const dir = await mkdtemp(join(tmpdir(), 'shop-rabbitmq-'));
    const [amqpPort, distPort, managementPort, tlsPort] = await Promise.all([
      freePort(),
      freePort(),
      plugins.includes('rabbitmq_management') ? freePort() : Promise.resolve(undefined),
      options.tls ? freePort() : Promise.resolve(undefined),
    ]);

    const config = [
      '# A private node started by @shop/testing; see libs/testing/src/lib/local-rabbitmq-node.ts',
      ...(managementPort ? [`management.tcp.ip = 127.0.0.1`, `management.tcp.port = ${managementPort}`] : []),
      ...(options.tls ? brokerTlsConfig(options.tls, `127.0.0.1:${tlsPort}`, join(dir, 'tls')) : []),
      ...(options.config ?? []),
    ];
    await mkdir(join(dir, 'mnesia'));
    await mkdir(join(dir, 'log'));
    if (options.tls) await writeTlsFiles(join(dir, 'tls'), options.tls);
    await writeFile(join(dir, 'rabbitmq.conf'), `${config.join('\n')}\n`);
    if (options.advancedConfig) await writeFile(join(dir, 'advanced.config'), options.advancedConfig);
    await writeFile(join(dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
    await handOverToBrokerUser(dir);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      // Not the machine's /etc/rabbitmq/conf.d either, whose listeners would clash with the shared broker's.
      RABBITMQ_CONFIG_FILES: join(dir, 'conf.d'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(dir, BEAM_PID_FILE),
    };
    const node = new LocalRabbitmqNode(
      nodeName,
      dir,
      env,
      `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      managementPort ? `http://guest:guest@127.0.0.1:${managementPort}` : undefined,
      options.startTimeoutMs ?? 60_000,
      tlsPort ? `amqps://guest:guest@127.0.0.1:${tlsPort}` : undefined,
      options.tls,
    );
    node.watchdogPid = startRabbitmqNodeWatchdog(dir);
    try {
      await node.launch();
    } catch (error) {
      await node.dispose();
      throw error;
    }
    return node;
  }

  /** Stops the node completely, starts it again on the same data, and resolves once it accepts AMQP. */
  async restart(): Promise<void> {
    await this.shutDown();
    await this.launch();
  }

  /** SIGKILL to the node's Erlang VM and its wrapper (a crash); resolves once it exited. Its data stays. */
  async kill(): Promise<void> {
    if (!this.child || this.exit) return;
    this.killNow();
    await this.exited;
  }

  /** Starts the node again after `kill()`, on the same data; resolves once it accepts AMQP. */
  async startAgain(): Promise<void> {
    if (this.child && !this.exit) return;
    await this.launch();
  }

  /** Whether the node's process runs (it may still have its application stopped: `stopApp()`). */
  get running(): boolean {
    return !!this.child && !this.exit;
  }

  /** `rabbitmqctl -n <node> ...args`: its standard output. */
  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await runCommand(process.env['RABBITMQCTL'] || 'rabbitmqctl', ['-n', this.nodeName, ...args], {
      env: this.env,
      timeoutMs: 60_000,
    });
    return stdout;
  }

  /**
   * `rabbitmqctl stop_app`: the RabbitMQ application stops (connections dropped, replicas on it
   * unavailable) while the Erlang VM stays, as a node cut off from its cluster looks to the others.
   */
  async stopApp(): Promise<void> {
    await this.ctl('-q', 'stop_app');
  }

  /** `rabbitmqctl start_app`, then waits until it accepts AMQP again. */
  async startApp(): Promise<void> {
    await this.ctl('-q', 'start_app');
    await waitFor(() => listenersAcceptAmqp(this.url, this.tlsUrl, this.tls), {
      timeoutMs: this.startTimeoutMs,
      intervalMs: 200,
      description: `node ${this.nodeName} accepting AMQP after start_app`,
    });
  }

  /** Stops the node and removes its directory (data, logs, config). */
  async stop(): Promise<void> {
    try {
      await this.shutDown();
    } finally {
      await this.dispose();
    }
  }

  private async launch(): Promise<void> {
    this.output = '';
    this.exit = undefined;
    const child = spawn(process.env['RABBITMQ_SERVER_COMMAND'] || 'rabbitmq-server', [], {
      env: this.env,
      cwd: this.dir,
      // Its own process group, so the wrapper scripts can be killed as one.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL_LENGTH);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise<Exit>((resolve) => {
      child.once('error', (error) => {
        collect(Buffer.from(`\n${error.message}\n`));
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    if (child.pid) await writeFile(join(this.dir, WRAPPER_PID_FILE), `${child.pid}\n`);

    const deadline = Date.now() + this.startTimeoutMs;
    while (!(await listenersAcceptAmqp(this.url, this.tlsUrl, this.tls))) {
      if (this.exit) {
        throw new Error(
          `rabbitmq-server for node ${this.nodeName} exited (${describeExit(this.exit)}) before accepting connections; ` +
            `logs in ${join(this.dir, 'log')}. Output:\n${this.output}`,
        );
      }
      if (Date.now() > deadline) {
        this.killNow();
        throw new Error(
          `RabbitMQ node ${this.nodeName} did not accept AMQP at ${this.tlsUrl ?? this.url} within ${this.startTimeoutMs} ms. Output:\n${this.output}`,
        );
      }
      await sleep(200);
    }
    // Plugins start after the AMQP listener.
    if (this.managementUrl) await waitForManagementApi(this.managementUrl, deadline);
  }

  /** `rabbitmqctl stop`, then waits for the server process to exit; signals if the CLI cannot do it. */
  private async shutDown(): Promise<void> {
    if (!this.child || this.exit) return;
    try {
      await runCommand(process.env['RABBITMQCTL'] || 'rabbitmqctl', ['-n', this.nodeName, '-q', 'stop'], {
        env: this.env,
        timeoutMs: 60_000,
      });
    } catch {
      // e.g. a CLI whose Erlang cookie differs from the node's: SIGTERM is a graceful shutdown too
      this.signalNode('SIGTERM');
    }
    if (!(await exitsWithin(this.exited, 30_000))) {
      this.killNow();
      await this.exited;
    }
  }

  private async dispose(): Promise<void> {
    this.killNow();
    this.forgetOnExit();
    await rm(this.dir, { recursive: true, force: true });
    if (this.watchdogPid) signalQuietly(this.watchdogPid, 'SIGKILL');
  }

  private signalNode(signal: NodeJS.Signals): void {
    const beamPid = readPid(join(this.dir, BEAM_PID_FILE));
    if (beamPid) signalQuietly(beamPid, signal);
    if (this.child?.pid && !this.exit) signalQuietly(-this.child.pid, signal);
  }

  /** Synchronous, for process exit: SIGKILL to the Erlang VM and to the wrapper's process group. */
  private killNow(): void {
    if (this.child && !this.exit) this.signalNode('SIGKILL');
  }
}

async function waitForManagementApi(managementUrl: string, deadline: number): Promise<void> {
  const url = new URL(managementUrl);
  const authorization = `Basic ${Buffer.from(`${url.username}:${url.password}`).toString('base64')}`;
  await waitFor(
    async () => (await fetch(`${url.origin}/api/overview`, { headers: { authorization } }).catch(() => undefined))?.ok,
    {
      timeoutMs: Math.max(0, deadline - Date.now()),
      intervalMs: 200,
      description: `the management API at ${url.origin}`,
    },
  );
}

function readPid(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

async function exitsWithin(exited: Promise<Exit>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([exited.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/** The broker's PEM files, in a directory of their own; the key readable by its owner only. */
async function writeTlsFiles(dir: string, tls: BrokerTlsOptions): Promise<void> {
  await mkdir(dir);
  await writeFile(join(dir, BROKER_TLS_FILES.ca), tls.ca);
  await writeFile(join(dir, BROKER_TLS_FILES.cert), tls.cert);
  await writeFile(join(dir, BROKER_TLS_FILES.key), tls.key, { mode: 0o600 });
}

/**
 * Debian's and RPM's `rabbitmq-server` wrapper, run as root, switches to the `rabbitmq` user, which
 * must then own the node's directory and everything in it (the TLS key too). Run as anyone else the
 * server runs as that user.
 */
async function handOverToBrokerUser(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const ids = await Promise.all([runCommand('id', ['-u', 'rabbitmq']), runCommand('id', ['-g', 'rabbitmq'])]).catch(
    () => undefined,
  );
  if (!ids) return;
  const [uid, gid] = ids.map((result) => Number(result.stdout.trim()));
  for (const path of [dir, ...(await readdir(dir, { recursive: true })).map((entry) => join(dir, entry))]) {
    await chown(path, uid, gid);
  }
}
