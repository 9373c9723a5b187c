import { describeUnderReplicated, underReplicatedQueues } from './replication-check';

describe('underReplicatedQueues', () => {
  const realFetch = global.fetch;
  let asked: Array<{ url: string; authorization: string }>;

  beforeEach(() => {
    asked = [];
    global.fetch = jest.fn(async (url: string | URL | Request, init?: RequestInit) => {
      const path = String(url);
      asked.push({ url: path, authorization: (init?.headers as Record<string, string>)['authorization'] });
      const body = path.includes('/api/nodes')
        ? [{ name: 'a' }, { name: 'b' }]
        : [
            { name: 'inventory.q', type: 'quorum', members: ['a', 'b', 'c'], online: ['a', 'b', 'c'] },
            { name: 'inventory.q.dlq', type: 'quorum', members: ['a'], online: ['a'] },
            { name: 'inventory.r', type: 'quorum', members: ['a', 'b', 'c'], online: ['a', 'c'] },
            { name: 'orders.q', type: 'quorum', members: ['a'], online: ['a'] },
            { name: 'inventory.classic', type: 'classic' },
          ];
      return new Response(JSON.stringify(body), { status: 200 });
    }) as typeof fetch;
  });
  afterEach(() => {
    global.fetch = realFetch;
  });

  it('lists the app`s quorum queues with too few replicas or some offline', async () => {
    const under = await underReplicatedQueues({
      managementUrl: 'http://mon:p%40ss@rabbit-1:15672',
      vhost: '/',
      app: 'inventory',
      wanted: 3,
    });
    expect(under.map((q) => q.queue)).toEqual(['inventory.q.dlq', 'inventory.r']);
    expect(describeUnderReplicated(under)).toBe(
      'inventory.q.dlq (1 of 3 replicas, 1 online), inventory.r (3 of 3 replicas, 2 online)',
    );
    expect(asked).toEqual([
      {
        url: 'http://rabbit-1:15672/api/queues/%2F?columns=name,type,members,online',
        authorization: `Basic ${Buffer.from('mon:p@ss').toString('base64')}`,
      },
    ]);
  });

  it('wants min(3, cluster nodes) replicas when no group size is given', async () => {
    const under = await underReplicatedQueues({
      managementUrl: 'http://rabbit-1:15672',
      vhost: 'shop',
      app: 'inventory',
    });
    expect(under.map((q) => [q.queue, q.wanted])).toEqual([
      ['inventory.q.dlq', 2],
      ['inventory.r', 2],
    ]);
    expect(asked.map((a) => a.url)).toEqual([
      'http://rabbit-1:15672/api/nodes?columns=name',
      'http://rabbit-1:15672/api/queues/shop?columns=name,type,members,online',
    ]);
  });
});
