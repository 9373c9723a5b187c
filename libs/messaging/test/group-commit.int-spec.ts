import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource, type EntityManager } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '@shop/testing';
import { DuplicateDeliveryError } from '../src/lib/consume/errors';
import { GroupCommit, type GroupOutcome } from '../src/lib/consume/group-commit';

/**
 * Group commit on a real PostgreSQL: handlers' transactions that wait for a lane share one commit,
 * each member is told its outcome only once that commit is durable, and a member that fails costs the
 * others nothing but a second run, alone.
 */
describe('GroupCommit', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  const scope = new AsyncLocalStorage<string>();

  beforeAll(async () => {
    database = await createTestDatabase('group_commit');
    dataSource = new DataSource({ type: 'postgres', url: database.url, extra: { max: 20 } });
    await dataSource.initialize();
    await dataSource.query(`CREATE TABLE applied (key text PRIMARY KEY, xid bigint NOT NULL, scope text)`);
  }, 60_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  beforeEach(() => dataSource.query(`TRUNCATE applied`));

  /** A handler's work: one row, stamped with the id of the transaction it ran in and the scope it saw. */
  const apply = (key: string) => async (tx: EntityManager) => {
    const [row] = (await tx.query(
      `INSERT INTO applied (key, xid, scope) VALUES ($1, txid_current(), $2) RETURNING xid::text`,
      [key, scope.getStore() ?? null],
    )) as Array<{ xid: string }>;
    return row.xid;
  };

  const committedKeys = async () =>
    ((await dataSource.query(`SELECT key FROM applied ORDER BY key`)) as Array<{ key: string }>).map((r) => r.key);

  function recorder() {
    const groups: Array<{ size: number; outcome: GroupOutcome }> = [];
    return { groups, observe: (size: number, outcome: GroupOutcome) => groups.push({ size, outcome }) };
  }

  it('gives each transaction its own commit while a lane is free (no waiting, nothing shared)', async () => {
    const { groups, observe } = recorder();
    const commit = new GroupCommit(dataSource, { lanes: 2, maxSize: 16 }, observe);
    const xids: string[] = [];
    for (let i = 0; i < 5; i++) xids.push(await commit.run(apply(`k${i}`)));
    expect(new Set(xids).size).toBe(5);
    expect(groups).toEqual([]);
    expect(await committedKeys()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });

  it('shares one commit among the transactions that waited, each in its own async scope, told after the commit', async () => {
    const { groups, observe } = recorder();
    const commit = new GroupCommit(dataSource, { lanes: 1, maxSize: 8 }, observe);
    const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    const visibleWhenTold: boolean[] = [];
    const xids = await Promise.all(
      keys.map((key) =>
        scope.run(`scope-of-${key}`, async () => {
          const xid = await commit.run(apply(key));
          // told only once the row is committed: another connection sees it
          const seen = await dataSource.query(`SELECT 1 FROM applied WHERE key = $1`, [key]);
          visibleWhenTold.push(seen.length === 1);
          return xid;
        }),
      ),
    );
    expect(visibleWhenTold).toEqual(keys.map(() => true));
    expect(await committedKeys()).toEqual(keys);
    // the first ran alone; the 29 that waited went in groups of at most 8
    expect(groups.every((group) => group.outcome === 'committed' && group.size > 1 && group.size <= 8)).toBe(true);
    expect(groups.reduce((sum, group) => sum + group.size, 0)).toBe(29);
    const transactions = new Set(xids).size;
    expect(transactions).toBe(1 + groups.length);
    expect(transactions).toBeLessThanOrEqual(1 + Math.ceil(29 / 8));
    // each member's work ran in the async scope of its caller, not the lane's or another member's
    const scopes = (await dataSource.query(`SELECT key, scope FROM applied`)) as Array<{ key: string; scope: string }>;
    expect(scopes.every((row) => row.scope === `scope-of-${row.key}`)).toBe(true);
  });

  it('rolls a group back when a member fails, then runs each alone: the others commit once, the failure is its own', async () => {
    const { groups, observe } = recorder();
    const commit = new GroupCommit(dataSource, { lanes: 1, maxSize: 16 }, observe);
    const runs = new Map<string, number>();
    const counted = (key: string, work: (tx: EntityManager) => Promise<string>) => (tx: EntityManager) => {
      runs.set(key, (runs.get(key) ?? 0) + 1);
      return work(tx);
    };
    const poisoned = async (tx: EntityManager) => {
      await apply('bad')(tx); // written, then refused: none of it may stay
      throw new Error('out of stock');
    };
    const blocker = commit.run(apply('first')); // takes the lane: the rest wait and form one group
    const outcomes = await Promise.allSettled([
      commit.run(counted('a', apply('a'))),
      commit.run(counted('bad', poisoned)),
      commit.run(counted('b', apply('b'))),
    ]);
    await blocker;
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('out of stock'));
    expect(groups).toEqual([{ size: 3, outcome: 'split' }]);
    expect(await committedKeys()).toEqual(['a', 'b', 'first']);
    // in the group a ran, then bad failed (b never ran there); then each alone
    expect(Object.fromEntries(runs)).toEqual({ a: 2, bad: 2, b: 1 });
  });

  it('lets a duplicate delivery (the inbox wrote nothing) fail alone and the rest of its group commit', async () => {
    const { groups, observe } = recorder();
    const commit = new GroupCommit(dataSource, { lanes: 1, maxSize: 16 }, observe);
    const duplicate = async () => {
      throw new DuplicateDeliveryError('m-1', 'q');
    };
    const blocker = commit.run(apply('first'));
    const outcomes = await Promise.allSettled([commit.run(apply('a')), commit.run(duplicate), commit.run(apply('b'))]);
    await blocker;
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateDeliveryError);
    expect(groups).toEqual([{ size: 3, outcome: 'committed' }]);
    const [a, b] = [
      (outcomes[0] as PromiseFulfilledResult<string>).value,
      (outcomes[2] as PromiseFulfilledResult<string>).value,
    ];
    expect(a).toBe(b);
    expect(await committedKeys()).toEqual(['a', 'b', 'first']);
  });

  /** A table of two counters, and a work that bumps one and then holds its row lock a moment. */
  async function twoCounters(table: string, ids: [string, string]) {
    await dataSource.query(`CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, n int NOT NULL)`);
    await dataSource.query(`TRUNCATE ${table}`);
    await dataSource.query(`INSERT INTO ${table} VALUES ($1, 0), ($2, 0)`, ids);
    return {
      bump:
        (id: string, pauseMs = 0) =>
        async (tx: EntityManager) => {
          await tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [id]);
          if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
        },
      counts: async () =>
        (await dataSource.query(`SELECT id, n FROM ${table} ORDER BY id`)) as Array<{ id: string; n: number }>,
    };
  }

  it("orders a group by its members' keys: two groups locking the same orders' rows wait for each other, no deadlock", async () => {
    const { bump, counts } = await twoCounters('orders', ['X', 'Y']);
    const { groups, observe } = recorder();
    const commit = new GroupCommit(dataSource, { lanes: 2, maxSize: 2 }, observe);
    const works = [commit.run(bump('X', 100), 'X'), commit.run(bump('Y', 100), 'Y')];
    // arriving Y before X in one group and X before Y in the other: without the keys, a deadlock
    works.push(commit.run(bump('Y', 200), 'Y'), commit.run(bump('X'), 'X'));
    works.push(commit.run(bump('X', 200), 'X'), commit.run(bump('Y'), 'Y'));
    await Promise.all(works);
    expect(await counts()).toEqual([
      { id: 'X', n: 3 },
      { id: 'Y', n: 3 },
    ]);
    expect(groups).toEqual([
      { size: 2, outcome: 'committed' },
      { size: 2, outcome: 'committed' },
    ]);
  }, 30_000);

  it("breaks a deadlock between two groups over rows no key orders (a product's stock): one splits, every work applied once", async () => {
    const { bump: take, counts } = await twoCounters('stock', ['A', 'B']);
    const { groups, observe } = recorder();
    const commit = new GroupCommit(dataSource, { lanes: 2, maxSize: 2 }, observe);
    // both lanes busy; then, as they free, one group takes A then B, the other B then A
    const works = [commit.run(take('A', 100)), commit.run(take('B', 100))];
    works.push(commit.run(take('A', 200)), commit.run(take('B')), commit.run(take('B', 200)), commit.run(take('A')));
    await Promise.all(works);
    expect(await counts()).toEqual([
      { id: 'A', n: 3 },
      { id: 'B', n: 3 },
    ]);
    expect(groups.map((group) => group.outcome).sort()).toEqual(['committed', 'split']);
  }, 30_000);
});
