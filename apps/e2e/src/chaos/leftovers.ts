import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/**
 * Names on the machine's shared services that a chaos run could have left, and private broker nodes still
 * running: there must be none.
 */
export async function chaosLeftovers(): Promise<string[]> {
  const found: string[] = [];
  try {
    const { stdout } = await run(process.env['RABBITMQCTL'] || 'rabbitmqctl', ['-q', 'list_vhosts'], {
      timeout: 30_000,
    });
    found.push(
      ...stdout
        .split('\n')
        .filter((name) => /chaos/.test(name))
        .map((name) => `vhost ${name}`),
    );
  } catch {
    // no local broker to compare (testcontainers): nothing of ours can be on it either
  }
  try {
    // private RabbitMQ nodes (`test-chaos1-...`) still registered with the port mapper: a node left running
    const { stdout } = await run('epmd', ['-names'], { timeout: 10_000 });
    found.push(
      ...stdout
        .split('\n')
        .map((line) => /^name (\S+) at port/.exec(line)?.[1])
        .filter((name): name is string => !!name && /chaos/.test(name))
        .map((name) => `RabbitMQ node ${name}`),
    );
  } catch {
    // no epmd: no local Erlang node can be running either
  }
  if (process.env['DATABASE_URL']) {
    const client = new Client({ connectionString: process.env['DATABASE_URL'], connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database');
      found.push(
        ...rows
          .map((row) => row.datname)
          .filter((name) => /chaos/.test(name))
          .map((name) => `database ${name}`),
      );
    } catch {
      // no shared database reachable
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return found;
}
