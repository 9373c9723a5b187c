import type { BrokerAdmin, BrokerBinding, BrokerClientConnection, BrokerQueue } from './broker-admin';
import { CommandError, runCommand, type RunCommandOptions } from './run-command';
import { waitFor } from './wait-for';

export interface RabbitmqctlOptions {
  /** The CLI to run, `rabbitmqctl` by default. */
  command: string;
  /** Target node (`-n`); the CLI's own default when absent. */
  node?: string;
}

/**
 * Administration through the `rabbitmqctl` CLI. Each call starts an Erlang VM (about 0.4 s here),
 * so a vhost costs one call to create, one to delete and two to close its connections.
 */
export class RabbitmqctlBrokerAdmin implements BrokerAdmin {
  constructor(private readonly options: RabbitmqctlOptions) {}

  async createVhost(vhost: string, user: string): Promise<void> {
    // One definitions import instead of add_vhost + set_permissions: half the CLI start-ups.
    const definitions = {
      vhosts: [{ name: vhost }],
      permissions: [{ user, vhost, configure: '.*', write: '.*', read: '.*' }],
    };
    await this.ctl(['import_definitions', '--format', 'json'], { input: JSON.stringify(definitions) });
  }

  async importDefinitions(definitions: object): Promise<void> {
    await this.ctl(['import_definitions', '--format', 'json'], { input: JSON.stringify(definitions) });
  }

  async deleteUser(user: string): Promise<void> {
    try {
      await this.ctl(['delete_user', user]);
    } catch (error) {
      if (error instanceof CommandError && /does not exist|no_such_user/.test(error.stderr + error.stdout)) return;
      throw error;
    }
  }

  async deleteVhost(vhost: string): Promise<void> {
    try {
      await this.ctl(['delete_vhost', vhost]);
    } catch (error) {
      if (error instanceof CommandError && /does not exist/.test(error.stderr + error.stdout)) return;
      throw error;
    }
  }

  async closeConnections(vhost: string, reason: string): Promise<void> {
    const names = async () => (await this.listConnections(vhost)).map((connection) => connection.name);
    const before = new Set(await names());
    if (before.size === 0) return;
    await this.ctl(['close_all_connections', '--vhost', vhost, reason]);
    // The command only asks each connection to close; wait until the broker has let those go.
    // A client that reconnects meanwhile opens a connection with another name, which is not waited on.
    await waitFor(async () => (await names()).every((name) => !before.has(name)), {
      timeoutMs: 15_000,
      intervalMs: 0,
      description: `connections of vhost ${vhost} to close`,
    });
  }

  async listQueues(vhost: string): Promise<BrokerQueue[]> {
    const rows = await this.list<{
      name: string;
      messages: number;
      messages_ready: number;
      messages_unacknowledged: number;
    }>(['list_queues', '-p', vhost, 'name', 'messages', 'messages_ready', 'messages_unacknowledged']);
    return rows.map((row) => ({
      name: row.name,
      messages: Number(row.messages),
      ready: Number(row.messages_ready),
      unacked: Number(row.messages_unacknowledged),
    }));
  }

  async listBindings(vhost: string): Promise<BrokerBinding[]> {
    const rows = await this.list<{
      source_name: string;
      destination_name: string;
      destination_kind: string;
      routing_key: string;
    }>(['list_bindings', '-p', vhost, 'source_name', 'destination_name', 'destination_kind', 'routing_key']);
    return rows.map((row) => ({
      source: row.source_name,
      destination: row.destination_name,
      destinationKind: row.destination_kind,
      routingKey: row.routing_key,
    }));
  }

  async listConnections(vhost: string): Promise<BrokerClientConnection[]> {
    // list_connections ignores --vhost: it lists the whole node, so filter here.
    const rows = await this.list<BrokerClientConnection>(['list_connections', 'name', 'user', 'vhost']);
    return rows.filter((row) => row.vhost === vhost);
  }

  /** A `list_...` command's rows; a minute at most, as a node under load may answer slowly. */
  private async list<T>(args: string[]): Promise<T[]> {
    const { stdout } = await this.ctl([...args, '--formatter', 'json'], { timeoutMs: 60_000 });
    return JSON.parse(stdout.trim() || '[]') as T[];
  }

  private ctl(args: string[], options: RunCommandOptions = {}) {
    const nodeArgs = this.options.node ? ['-n', this.options.node] : [];
    return runCommand(this.options.command, [...nodeArgs, '-q', ...args], options);
  }
}
