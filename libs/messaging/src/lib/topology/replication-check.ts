/** A quorum queue with fewer replicas than wanted, or some of them offline. */
export interface UnderReplicatedQueue {
  queue: string;
  /** Replicas wanted: the group size, min(3, nodes). */
  wanted: number;
  members: string[];
  online: string[];
}

interface ManagementQueue {
  name: string;
  type?: string;
  members?: string[];
  online?: string[];
}

/**
 * The app's quorum queues (`<app>.` in the vhost) that have fewer than `wanted` replicas, or replicas
 * offline, as the management API tells (AMQP cannot: a passive `queue.declare` gives no members).
 * `wanted` undefined: min(3, the cluster's nodes, from /api/nodes). `managementUrl` carries the
 * credentials of a user with the `monitoring` tag (the app users have no management access).
 */
export async function underReplicatedQueues(options: {
  managementUrl: string;
  vhost: string;
  app: string;
  wanted?: number;
  timeoutMs?: number;
}): Promise<UnderReplicatedQueue[]> {
  const url = new URL(options.managementUrl);
  const headers = {
    authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`,
  };
  const base = `${url.origin}${url.pathname.replace(/\/$/, '')}`;
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  const wanted = options.wanted ?? Math.min(3, (await get<unknown[]>('/api/nodes?columns=name')).length);
  const queues = await get<ManagementQueue[]>(
    `/api/queues/${encodeURIComponent(options.vhost)}?columns=name,type,members,online`,
  );
  return queues
    .filter((q) => q.type === 'quorum' && q.name.startsWith(`${options.app}.`))
    .map((q) => ({ queue: q.name, wanted, members: q.members ?? [], online: q.online ?? [] }))
    .filter((q) => q.members.length < wanted || q.online.length < q.members.length);
}

/** One line for the log: `inventory.x (2 of 3 replicas, 1 online)`. */
export function describeUnderReplicated(queues: UnderReplicatedQueue[]): string {
  return queues
    .map((q) => `${q.queue} (${q.members.length} of ${q.wanted} replicas, ${q.online.length} online)`)
    .join(', ');
}
