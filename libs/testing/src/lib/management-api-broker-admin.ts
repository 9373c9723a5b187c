import { redactUrl } from '@shop/contracts';
import type { BrokerAdmin, BrokerBinding, BrokerClientConnection, BrokerQueue } from './broker-admin';
import { waitFor } from './wait-for';

/**
 * Administration through the management plugin's HTTP API, e.g. `http://guest:guest@host:15672`.
 *
 * Connection listing per vhost and `DELETE /api/connections/{name}` read the statistics database,
 * which learns of a new connection only at the next statistics tick (`collect_statistics_interval`,
 * 5 s by default). `GET /api/connections?disable_stats=true` sees it at once, so connections are
 * listed from there and a delete answered 404 is retried until the tick has come.
 */
export class ManagementApiBrokerAdmin implements BrokerAdmin {
  private readonly baseUrl: string;
  private readonly authorization: string;

  constructor(managementUrl: string) {
    const url = new URL(managementUrl);
    // fetch refuses URLs with credentials: move them to the header.
    const user = decodeURIComponent(url.username) || 'guest';
    const password = decodeURIComponent(url.password) || 'guest';
    this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}/api`;
  }

  async createVhost(vhost: string, user: string): Promise<void> {
    await this.request('PUT', `/vhosts/${encodeURIComponent(vhost)}`, {});
    await this.request('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, {
      configure: '.*',
      write: '.*',
      read: '.*',
    });
  }

  async importDefinitions(definitions: object): Promise<void> {
    await this.request('POST', '/definitions', definitions);
  }

  async deleteUser(user: string): Promise<void> {
    await this.request('DELETE', `/users/${encodeURIComponent(user)}`, undefined, { allowNotFound: true });
  }

  async deleteVhost(vhost: string): Promise<void> {
    await this.request('DELETE', `/vhosts/${encodeURIComponent(vhost)}`, undefined, { allowNotFound: true });
  }

  async closeConnections(vhost: string, reason: string): Promise<void> {
    // Only the connections open now: a client that reconnects opens one with another name. A connection
    // opened a moment ago may not be listed yet: give the listing until the next statistics tick.
    const listed = await waitFor(
      async () => {
        const open = await this.listConnections(vhost);
        return open.length > 0 ? open : undefined;
      },
      { timeoutMs: 6_000, intervalMs: 100, description: `a connection of vhost ${vhost} listed` },
    ).catch(() => []);
    const targets = new Set(listed.map((connection) => connection.name));
    await waitFor(
      async () => {
        const open = (await this.listConnections(vhost)).filter((connection) => targets.has(connection.name));
        for (const connection of open) {
          // 404 until the statistics tick has registered the connection; the next round retries it.
          await this.request('DELETE', `/connections/${encodeURIComponent(connection.name)}`, undefined, {
            allowNotFound: true,
            headers: { 'x-reason': reason },
          });
        }
        return open.length === 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: `connections of vhost ${vhost} to close` },
    );
  }

  async listQueues(vhost: string): Promise<BrokerQueue[]> {
    const rows = (await this.request(
      'GET',
      `/queues/${encodeURIComponent(vhost)}?columns=name,messages,messages_ready,messages_unacknowledged`,
    )) as Array<{ name: string; messages?: number; messages_ready?: number; messages_unacknowledged?: number }>;
    // The counts come from the statistics database: absent until its first tick after the queue was declared.
    return rows.map((row) => ({
      name: row.name,
      messages: row.messages ?? 0,
      ready: row.messages_ready ?? 0,
      unacked: row.messages_unacknowledged ?? 0,
    }));
  }

  async listBindings(vhost: string): Promise<BrokerBinding[]> {
    const rows = (await this.request('GET', `/bindings/${encodeURIComponent(vhost)}`)) as Array<{
      source: string;
      destination: string;
      destination_type: string;
      routing_key: string;
    }>;
    return rows.map((row) => ({
      source: row.source,
      destination: row.destination,
      destinationKind: row.destination_type,
      routingKey: row.routing_key,
    }));
  }

  async listConnections(vhost: string): Promise<BrokerClientConnection[]> {
    const rows = (await this.request('GET', '/connections?disable_stats=true')) as BrokerClientConnection[];
    return rows
      .filter((row) => row.vhost === vhost)
      .map((row) => ({ name: row.name, user: row.user, vhost: row.vhost }));
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    options: { allowNotFound?: boolean; headers?: Record<string, string> } = {},
  ): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: this.authorization,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 404 && options.allowNotFound) return undefined;
    if (!response.ok) {
      const text = await response.text();
      throw new Error(`${method} ${redactUrl(this.baseUrl)}${path} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    const text = await response.text();
    return text ? JSON.parse(text) : undefined;
  }
}
