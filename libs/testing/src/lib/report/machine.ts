import { connect } from 'amqplib';
import * as os from 'node:os';
import { Client } from 'pg';

/** Where a benchmark ran: printed above its results and stored with them. */
export interface MachineInfo {
  /** ISO timestamp of the call. */
  date: string;
  host: string;
  /** `2 x Intel(R) Xeon(R) ...`: logical CPUs and the first one's model. */
  cpu: string;
  /** Total memory in GiB, to 0.1. */
  memoryGiB: number;
  /** `Linux 6.1.0-18-amd64`. */
  os: string;
  /** `v20.20.2`. */
  node: string;
  /** The broker's version from the AMQP handshake, when a URL was given and the broker answered. */
  rabbitmq?: string;
  /** `SHOW server_version`, e.g. `15.19 (Debian 15.19-0+deb12u1)`, when a URL was given and the server answered. */
  postgres?: string;
}

export interface MachineInfoOptions {
  /** Asks this broker for its version; no broker is contacted without it. */
  rabbitmqUrl?: string;
  /** Asks this PostgreSQL server for its version; no server is contacted without it. */
  databaseUrl?: string;
  /** How long to wait for each service (default 3000 ms). */
  timeoutMs?: number;
}

/**
 * This machine, and the versions of the broker and database at the given URLs. Never throws: a service
 * that is not given, does not answer in time or refuses the login is left out.
 */
export async function machineInfo(options: MachineInfoOptions = {}): Promise<MachineInfo> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const cpus = os.cpus();
  const model = cpus[0]?.model.replace(/\s+/g, ' ').trim() || 'unknown CPU';
  const [rabbitmq, postgres] = await Promise.all([
    options.rabbitmqUrl ? rabbitmqVersion(options.rabbitmqUrl, timeoutMs) : undefined,
    options.databaseUrl ? postgresVersion(options.databaseUrl, timeoutMs) : undefined,
  ]);
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    cpu: `${cpus.length || '?'} x ${model}`,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    ...(rabbitmq ? { rabbitmq } : {}),
    ...(postgres ? { postgres } : {}),
  };
}

/** One line: `2 x Intel(R) Xeon(R) ..., 23.4 GiB, Linux 6.1.0-18-amd64, Node v20.20.2, RabbitMQ 3.10.8, PostgreSQL 15.19`. */
export function describeMachine(info: MachineInfo): string {
  const parts = [info.cpu, `${info.memoryGiB} GiB`, info.os, `Node ${info.node}`];
  if (info.rabbitmq) parts.push(`RabbitMQ ${info.rabbitmq}`);
  // `15.19 (Debian 15.19-0+deb12u1)`: the version is the first word
  if (info.postgres) parts.push(`PostgreSQL ${info.postgres.split(/\s/)[0]}`);
  return parts.join(', ');
}

async function rabbitmqVersion(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const connection = await withTimeout(connect(url, { timeout: timeoutMs }), timeoutMs, (late) => {
      late.on('error', () => undefined);
      void late.close().catch(() => undefined);
    });
    connection.on('error', () => undefined);
    try {
      const version = connection.connection.serverProperties.version;
      return typeof version === 'string' && version ? version : undefined;
    } finally {
      await connection.close().catch(() => undefined);
    }
  } catch {
    return undefined;
  }
}

async function postgresVersion(url: string, timeoutMs: number): Promise<string | undefined> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    const version = result.rows[0]?.server_version;
    return typeof version === 'string' && version ? version : undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The promise's value, or a rejection after `ms`; `cleanup` receives a value that arrives too late. */
function withTimeout<T>(promise: Promise<T>, ms: number, cleanup: (late: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no answer in ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) cleanup(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
