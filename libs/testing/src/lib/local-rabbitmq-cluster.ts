import type { BrokerAdmin } from './broker-admin';
import { deploymentAdvancedConfig } from './deployment-broker-config';
import { LocalRabbitmqNode, type LocalRabbitmqNodeOptions } from './local-rabbitmq-node';
import { RabbitmqctlBrokerAdmin } from './rabbitmqctl-broker-admin';

/** Where a quorum queue's replicas are, by node name (`rabbitmqctl list_queues name leader members online`). */
export interface QueueReplicas {
  name: string;
  leader: string;
  members: string[];
  online: string[];
}

/**
 * A RabbitMQ cluster of the test's own: private nodes (LocalRabbitmqNode: node names, ports and data
 * of their own) joined to the first one. They share the Erlang cookie of the user rabbitmq-server runs
 * as (`~rabbitmq/.erlang.cookie`, or the caller's own when not root), which is what lets them and
 * rabbitmqctl talk. Each loads the deployment's advanced.config (DEPLOYMENT_ADVANCED_CONFIG_FILE) unless
 * given another.
 */
export class LocalRabbitmqCluster {
  private constructor(readonly nodes: LocalRabbitmqNode[]) {}

  /**
   * Starts `size` nodes at once, then joins the 2nd..nth to the first (`stop_app`, `join_cluster`,
   * `start_app`): resolves once every node accepts AMQP as a member of one cluster.
   */
  static async start(
    size: number,
    options: Omit<LocalRabbitmqNodeOptions, 'label'> & { label?: string } = {},
  ): Promise<LocalRabbitmqCluster> {
    const label = options.label ?? 'cluster';
    const started = await Promise.allSettled(
      Array.from({ length: size }, (_, i) =>
        LocalRabbitmqNode.start({
          advancedConfig: deploymentAdvancedConfig(),
          ...options,
          label: `${label}${i + 1}`,
        }),
      ),
    );
    const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const cluster = new LocalRabbitmqCluster(nodes);
    try {
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const [first, ...others] = nodes;
      for (const node of others) {
        await node.ctl('-q', 'stop_app');
        await node.ctl('-q', 'join_cluster', first.nodeName);
        await node.startApp();
      }
      const running = await first.ctl('-q', 'eval', 'length(rabbit_nodes:all_running()).');
      if (Number(running.trim()) !== size) throw new Error(`the cluster runs ${running.trim()} node(s), not ${size}`);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** One AMQP URL naming every node: `amqp://guest:guest@127.0.0.1:p1,127.0.0.1:p2,...` (RABBITMQ_URL's form). */
  get url(): string {
    const hosts = this.nodes.map((node) => new URL(node.url).host).join(',');
    return `amqp://guest:guest@${hosts}`;
  }

  /**
   * The cluster's administration (vhosts, users, queue listings) through `rabbitmqctl` on the first node
   * (what `createTestVhost`'s `admin` takes); the cluster shares it with every node.
   */
  admin(): BrokerAdmin {
    return new RabbitmqctlBrokerAdmin({
      command: process.env['RABBITMQCTL'] || 'rabbitmqctl',
      node: this.nodes[0].nodeName,
    });
  }

  /** The node that listens at `host:port` (what MessagingService.status().node says). */
  nodeAt(address: string): LocalRabbitmqNode | undefined {
    return this.nodes.find((node) => new URL(node.url).host === address);
  }

  /** The node of that Erlang node name (`shop_test_...@localhost`). */
  nodeNamed(name: string): LocalRabbitmqNode | undefined {
    return this.nodes.find((node) => node.nodeName === name);
  }

  /** The quorum queues of `vhost` with their leader, members and online members, asked of a running node. */
  async replicas(vhost = '/'): Promise<QueueReplicas[]> {
    let out: string | undefined;
    let lastError: unknown = new Error('no node of the cluster runs');
    // the first node whose RabbitMQ application runs (not killed, not stop_app)
    for (const node of this.nodes.filter((n) => n.running)) {
      try {
        out = await node.ctl(
          '-q',
          'list_queues',
          '-p',
          vhost,
          'name',
          'type',
          'leader',
          'members',
          'online',
          '--formatter',
          'json',
        );
        break;
      } catch (error) {
        lastError = error;
      }
    }
    if (out === undefined) throw lastError;
    const rows = JSON.parse(out) as Array<{
      name: string;
      type: string;
      leader: string;
      members: string[];
      online: string[];
    }>;
    return rows
      .filter((row) => row.type === 'quorum')
      .map(({ name, leader, members, online }) => ({ name, leader, members: members ?? [], online: online ?? [] }));
  }

  /** The node that leads the quorum queue `queue`. */
  async leaderOf(queue: string, vhost = '/'): Promise<LocalRabbitmqNode | undefined> {
    const replicas = (await this.replicas(vhost)).find((q) => q.name === queue);
    return replicas ? this.nodeNamed(replicas.leader) : undefined;
  }

  /** Stops every node and removes their data. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((node) => node.stop()));
  }
}

/** `LocalRabbitmqCluster.start(size)`. */
export function startLocalRabbitmqCluster(
  size: number,
  options?: Parameters<typeof LocalRabbitmqCluster.start>[1],
): Promise<LocalRabbitmqCluster> {
  return LocalRabbitmqCluster.start(size, options);
}
