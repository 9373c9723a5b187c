import type { LocalRabbitmqCluster, LocalRabbitmqNode, QueueReplicas } from '@shop/testing';
import { APPS } from '../support/app-process';
import type { System } from '../support/system';
import type { Random } from './prng';

export type NodeFaultKind = 'node-kill' | 'node-stop-app';

export interface NodeFaultOutcome {
  kind: NodeFaultKind;
  /** `host:port` of the node struck. */
  node: string;
  detail: string;
  /** ms from the fault until every running app replica's broker connection was up on another node; unset if not within MOVE_TIMEOUT_MS. */
  movedMs?: number;
  /** ms from the node's return until every quorum queue had all its replicas online; unset if not within two minutes. */
  replicasBackMs?: number;
}

/**
 * How long every app replica has to be consuming on another node. It usually takes 1 to 4 s. Once, in
 * the fixed-seed run beside the rest of `npm test` on a loaded 2-core machine, one replica had not
 * moved within 60 s (which one and why went unrecorded: that run logs nothing), while every invariant
 * held; the bound is a liveness check, the figures are in the report.
 */
const MOVE_TIMEOUT_MS = 120_000;
const REPLICAS_TIMEOUT_MS = 120_000;
/** The archive stream (a stream, not a saga queue) and the dead-letter queues do not choose the leader. */
const isSagaQueue = (name: string) => !name.endsWith('.dlq') && name !== 'shop.events';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The faults in the order they strike: the saga's leader killed, then another node, then a third cut off. */
const SEQUENCE: readonly NodeFaultKind[] = ['node-kill', 'node-kill', 'node-stop-app'];

/**
 * The node faults of a cluster run (`npm run chaos -- --cluster 3`), one at a time: a quorum queue needs
 * a majority of its replicas, so two nodes are never down together. The first fault is a SIGKILL of the
 * node that leads most of the saga's quorum queues; the second a SIGKILL of another node, the one
 * leading most then; the third `rabbitmqctl stop_app` of a node not struck yet (its VM runs on, cut off
 * as in a partition, without touching the network). Each node comes back after a seeded 3 to 6 s.
 *
 * Measured per fault: how long until every running app replica reports, on /health/ready, its broker
 * connection up on another node (the apps move), and from the node's return until every quorum queue
 * of the vhost has all its replicas online again (the cluster heals).
 */
export class NodeFaults {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly struck = new Set<string>();

  constructor(
    private readonly cluster: LocalRabbitmqCluster,
    private readonly system: System,
    /** App replicas (`orders#1`) that another fault has taken down meanwhile: not waited for. */
    private readonly down: ReadonlySet<string>,
    private readonly rng: Random,
    private readonly log: (line: string) => void,
  ) {}

  private strikes = 0;

  /**
   * The next fault of the sequence, once the previous one has healed; `onStart` is called at the moment
   * it strikes.
   */
  run(onStart: () => void): Promise<NodeFaultOutcome> {
    const kind = SEQUENCE[this.strikes++ % SEQUENCE.length];
    const next = this.chain.then(() => this.strike(kind, onStart));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async strike(kind: NodeFaultKind, onStart: () => void): Promise<NodeFaultOutcome> {
    const replicas = (await this.cluster.replicas(this.system.vhost)).filter((q) => isSagaQueue(q.name));
    const target = this.choose(replicas);
    this.struck.add(target.nodeName);
    const address = new URL(target.url).host;
    const leads = replicas.filter((q) => q.leader === target.nodeName).length;
    onStart();
    const struckAt = Date.now();
    if (kind === 'node-kill') await target.kill();
    else await target.stopApp();
    const movedMs = await this.appsMovedOff(address, struckAt);
    const downMs = this.rng.int(3_000, 6_000);
    const elapsed = Date.now() - struckAt;
    if (elapsed < downMs) await sleep(downMs - elapsed);
    const backAt = Date.now();
    if (kind === 'node-kill') await target.startAgain();
    else await target.startApp();
    const replicasBackMs = await this.replicasOnline(backAt);
    const what = kind === 'node-kill' ? 'SIGKILL' : 'stop_app';
    const detail =
      `${what} of ${address} (leader of ${leads}/${replicas.length} saga queues), back after ${backAt - struckAt} ms; ` +
      `apps on other nodes ${movedMs === undefined ? `NOT within ${MOVE_TIMEOUT_MS / 1000} s` : `in ${(movedMs / 1000).toFixed(1)} s`}, ` +
      `every queue fully replicated ${replicasBackMs === undefined ? 'NOT within 120 s' : `${(replicasBackMs / 1000).toFixed(1)} s`} after its return`;
    return { kind, node: address, detail, movedMs, replicasBackMs };
  }

  /** The node not struck yet that leads most of `replicas` (the first node when none leads any). */
  private choose(replicas: QueueReplicas[]): LocalRabbitmqNode {
    const candidates = this.cluster.nodes.filter((node) => !this.struck.has(node.nodeName));
    const pool = candidates.length ? candidates : this.cluster.nodes;
    const leading = (node: LocalRabbitmqNode) => replicas.filter((q) => q.leader === node.nodeName).length;
    return pool.reduce((best, node) => (leading(node) > leading(best) ? node : best), pool[0]);
  }

  /**
   * Polls every running app replica's /health/ready until each has its broker connection up on a node
   * other than `address` (whatever its database says: a PostgreSQL outage may strike meanwhile).
   */
  private async appsMovedOff(address: string, since: number): Promise<number | undefined> {
    const deadline = since + MOVE_TIMEOUT_MS;
    let staying: string[] = [];
    let last: string[] = [];
    while (Date.now() < deadline) {
      const targets = APPS.flatMap((app) =>
        Array.from({ length: this.system.replicaCount(app) }, (_, replica) => ({ app, replica })),
      ).filter(({ app, replica }) => !this.down.has(`${app}#${replica}`));
      const brokers = await Promise.all(targets.map(({ app, replica }) => brokerOf(this.system.url(app, replica))));
      staying = targets
        .map(({ app, replica }, i) => ({ name: `${app}#${replica}`, broker: brokers[i] }))
        .filter(({ broker }) => broker?.status !== 'up' || !broker.node || broker.node === address)
        .map(({ name, broker }) => `${name}: ${JSON.stringify(broker ?? 'no answer')}`);
      if (!staying.length) {
        const ms = Date.now() - since;
        // what the last replicas to move said a moment before, when they took their time
        if (ms > 2_000) this.log(`  apps left ${address} in ${ms} ms; the last to move said: ${last.join('; ')}`);
        return ms;
      }
      last = staying;
      await sleep(200);
    }
    this.log(`  not every app replica left ${address} within ${MOVE_TIMEOUT_MS / 1000} s: ${staying.join('; ')}`);
    return undefined;
  }

  /** Polls the cluster until every quorum queue of the vhost has all its members online. */
  private async replicasOnline(since: number): Promise<number | undefined> {
    const deadline = since + REPLICAS_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        const queues = await this.cluster.replicas(this.system.vhost);
        const full = Math.min(3, this.cluster.nodes.length);
        if (queues.every((q) => q.members.length >= full && q.online.length === q.members.length)) {
          return Date.now() - since;
        }
      } catch {
        // no node answers yet
      }
      await sleep(500);
    }
    this.log(`  not every quorum queue had its replicas online within ${REPLICAS_TIMEOUT_MS / 1000} s`);
    return undefined;
  }
}

interface BrokerIndicator {
  status?: string;
  node?: string;
  [detail: string]: unknown;
}

/**
 * The broker indicator of an app replica's /health/ready (200 or 503: whatever its database says), with
 * the node (`host:port`) its connection is on; undefined when it does not answer.
 */
async function brokerOf(baseUrl: string): Promise<BrokerIndicator | undefined> {
  try {
    const response = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { details?: { broker?: BrokerIndicator } };
    return body.details?.broker;
  } catch {
    return undefined;
  }
}
