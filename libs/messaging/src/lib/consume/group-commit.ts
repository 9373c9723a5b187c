import { AsyncResource } from 'node:async_hooks';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { DuplicateDeliveryError } from './errors';

export interface GroupCommitOptions {
  /**
   * Transactions of handlers open at once (1: one after another, the most sharing). A handler's
   * transaction starts at once while a lane is free; when all are busy it waits, and the handlers that
   * waited share the next one. One lane shared the most in bench:saga, with more orders/s than two,
   * not fewer (README, Benchmarks).
   */
  lanes: number;
  /** The most handlers' work in one transaction. */
  maxSize: number;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { lanes: 1, maxSize: 16 };

/** What a group did: `committed` one transaction for all, `split` failed and ran each member alone. */
export type GroupOutcome = 'committed' | 'split';

interface Member {
  work: (tx: EntityManager) => Promise<unknown>;
  key: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit of the transactions of handlers declared `@ConsumeEvent({ groupCommit: true })`
 * (short database work that may run twice): when every lane is busy, the handlers whose work waits
 * run one after another in one transaction, which commits once for all of them: one commit (and one
 * WAL flush) for many events instead of one each, which is what the database spends most on per event.
 * Each member's work still runs in its own trace and async context, and is told the outcome only after
 * the commit. A member that fails (or a commit that does) rolls the group back, and every member runs
 * again alone, in a transaction of its own, exactly as without grouping: the member's error, if it is
 * its own, comes back from there. The one failure that spares the group is a duplicate delivery: the
 * inbox check writes nothing when the message was applied before, so the rest may commit.
 *
 * Under light load a lane is always free and every transaction is alone: no latency is added. Row
 * locks are held until the group commits. The members of a group run in the order of their keys (the
 * events' subjects), so two groups that lock the rows of the same orders take them in the same order
 * and the later one waits; rows shared across subjects (a product's stock) can still be taken in
 * opposite orders by two groups: PostgreSQL breaks that deadlock (after `deadlock_timeout`, 1 s by
 * default), and the group it fails splits.
 */
export class GroupCommit {
  private readonly waiting: Member[] = [];
  private busy = 0;
  /** Lanes run outside any caller's context: a group's BEGIN and COMMIT belong to no one member's trace. */
  private readonly root = new AsyncResource('GroupCommit');

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: GroupCommitOptions = DEFAULT_GROUP_COMMIT,
    private readonly observe?: (size: number, outcome: GroupOutcome) => void,
  ) {
    if (!Number.isSafeInteger(options.lanes) || options.lanes < 1) {
      throw new Error(`GroupCommit: lanes must be a positive integer (got ${options.lanes})`);
    }
    if (!Number.isSafeInteger(options.maxSize) || options.maxSize < 1) {
      throw new Error(`GroupCommit: maxSize must be a positive integer (got ${options.maxSize})`);
    }
  }

  /**
   * Runs `work` in a transaction, maybe shared with other members; settles after the commit. `key`
   * (the event's subject) orders the members of a group: work that locks rows of its own subject
   * takes them in the same order in every group, so groups wait for each other rather than deadlock.
   */
  run<T>(work: (tx: EntityManager) => Promise<T>, key = ''): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ work: AsyncResource.bind(work), key, resolve: resolve as (value: unknown) => void, reject });
      if (this.busy < this.options.lanes) {
        this.busy++;
        this.root.runInAsyncScope(() => void this.lane());
      }
    });
  }

  private async lane(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting.splice(0, this.options.maxSize);
        if (group.length === 1) await this.alone(group[0]);
        else await this.together(group.sort(byKey));
      }
    } finally {
      this.busy--;
    }
  }

  private async alone(member: Member): Promise<void> {
    try {
      member.resolve(await this.dataSource.transaction(member.work));
    } catch (error) {
      member.reject(error);
    }
  }

  private async together(group: Member[]): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    let results: Result[] | undefined;
    try {
      results = await this.inOneTransaction(runner, group);
    } catch {
      // Rolled back (the member that failed, a lost connection, a deadlock): each on its own now.
    } finally {
      await runner.release().catch(() => undefined);
    }
    this.observe?.(group.length, results ? 'committed' : 'split');
    if (!results) {
      await Promise.all(group.map((member) => this.alone(member)));
      return;
    }
    results.forEach((result, i) => (result.ok ? group[i].resolve(result.value) : group[i].reject(result.error)));
  }

  private async inOneTransaction(runner: QueryRunner, group: Member[]): Promise<Result[]> {
    await runner.connect();
    await runner.startTransaction();
    try {
      const results: Result[] = [];
      for (const member of group) {
        try {
          results.push({ ok: true, value: await member.work(runner.manager) });
        } catch (error) {
          if (!(error instanceof DuplicateDeliveryError)) throw error;
          results.push({ ok: false, error });
        }
      }
      await runner.commitTransaction();
      return results;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  }
}

function byKey(a: Member, b: Member): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
