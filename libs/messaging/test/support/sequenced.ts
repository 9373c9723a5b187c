import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { createEventRegistry, defineEvent, EVENTS, serializeEvent, type EventRegistry } from '@shop/contracts';
import { ConsumeEvent, EventContext, type EventOf } from '../../src';
import { mulberry32 } from '@shop/testing';

/**
 * A test-only event with a per-subject sequence number: the n-th event of an order carries seq n.
 * Produced by orders, consumed by inventory, so that a test app of inventory may take it.
 */
export const Sequenced = defineEvent({
  type: 'test.sequenced',
  producer: 'orders',
  consumers: ['inventory'],
  description: 'Test only: the n-th event of an order, for the ordering proof.',
  versions: [z.object({ orderId: z.uuid(), seq: z.int().min(1) })],
  upcasters: [],
});

export const SEQUENCED_REGISTRY: EventRegistry = createEventRegistry([...EVENTS.all, Sequenced]);

export const ORDERED_QUEUE = 'inventory.sequence-ordered';
export const UNORDERED_QUEUE = 'inventory.sequence-unordered';

/**
 * What the handlers write, each in the handler's transaction with its inbox row: one row per event
 * applied (the inbox lets no event commit twice), numbered in the order they were written. And, outside
 * any transaction, one row per delivery that found its event applied already (a duplicate).
 */
export const SEQUENCE_TABLES = `
  CREATE TABLE IF NOT EXISTS sequence_log (
    id bigserial PRIMARY KEY, queue text NOT NULL, subject uuid NOT NULL, seq int NOT NULL, replica text NOT NULL);
  CREATE TABLE IF NOT EXISTS sequence_duplicates (
    queue text NOT NULL, subject uuid NOT NULL, seq int NOT NULL, replica text NOT NULL)`;

async function apply(
  dataSource: DataSource,
  queue: string,
  event: EventOf<typeof Sequenced>,
  ctx: EventContext,
): Promise<void> {
  const replica = process.env['REPLICA'] ?? String(process.pid);
  const holdMs = Number(process.env['HOLD_MS'] ?? 0);
  try {
    await ctx.transaction(async (tx) => {
      await tx.query(`INSERT INTO sequence_log (queue, subject, seq, replica) VALUES ($1, $2, $3, $4)`, [
        queue,
        event.data.orderId,
        event.data.seq,
        replica,
      ]);
      if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
    });
  } catch (error) {
    if ((error as Error).name === 'DuplicateDeliveryError') {
      await dataSource.query(`INSERT INTO sequence_duplicates (queue, subject, seq, replica) VALUES ($1, $2, $3, $4)`, [
        queue,
        event.data.orderId,
        event.data.seq,
        replica,
      ]);
    }
    throw error;
  }
}

/** The ordered handler: one subject's events one at a time, in order, over any number of replicas. */
@Controller()
export class OrderedSequenceHandler {
  constructor(private readonly dataSource: DataSource) {}

  @ConsumeEvent(Sequenced, { queue: ORDERED_QUEUE, ordered: 'subject' })
  handle(@Payload() event: EventOf<typeof Sequenced>, @Ctx() ctx: EventContext): Promise<void> {
    return apply(this.dataSource, ORDERED_QUEUE, event, ctx);
  }
}

/** The same handler on an ordinary queue, several handlers at once per replica. */
@Controller()
export class UnorderedSequenceHandler {
  constructor(private readonly dataSource: DataSource) {}

  @ConsumeEvent(Sequenced, { queue: UNORDERED_QUEUE, prefetch: 20, concurrency: 10 })
  handle(@Payload() event: EventOf<typeof Sequenced>, @Ctx() ctx: EventContext): Promise<void> {
    return apply(this.dataSource, UNORDERED_QUEUE, event, ctx);
  }
}

export interface PlannedEvent {
  subject: string;
  seq: number;
}

/**
 * `perSubject` events for each of `subjects` orders, interleaved at random (the same seed, the same
 * order) as a shop's orders are: an order's next event may follow at once or after many of others'.
 */
export function sequencePlan(subjects: number, perSubject: number, seed = 18): PlannedEvent[] {
  const next = mulberry32(seed);
  const ids: string[] = Array.from({ length: subjects }, () => randomUUID());
  const slots = ids.flatMap((id) => Array.from({ length: perSubject }, () => id));
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [slots[i], slots[j]] = [slots[j] as string, slots[i] as string];
  }
  const seqs = new Map<string, number>();
  return slots.map((subject) => {
    const seq = (seqs.get(subject) ?? 0) + 1;
    seqs.set(subject, seq);
    return { subject, seq };
  });
}

/** The event on the wire, with the AMQP properties the outbox relay sets (correlation-id: the subject). */
export function sequencedMessage(planned: PlannedEvent, userId: string) {
  const event = Sequenced.create({ orderId: planned.subject, seq: planned.seq });
  return {
    body: serializeEvent(event),
    properties: {
      messageId: event.id,
      type: event.type,
      appId: 'orders',
      correlationId: event.subject,
      userId,
      contentType: 'application/cloudevents+json',
      persistent: true,
    },
  };
}

export interface OrderCheck {
  /** Events applied (committed rows). */
  applied: number;
  /** Events planned and never applied. */
  lost: number;
  /** Subjects whose events were applied out of their sequence at least once. */
  subjectsOutOfOrder: number;
  /** Events applied before one with a lower seq of their subject. */
  inversions: number;
  /** Examples, for the failure message. */
  examples: string[];
}

/** Checks the applied rows (in the order they were written) against the plan. */
export function checkOrder(plan: PlannedEvent[], rows: Array<{ subject: string; seq: number }>): OrderCheck {
  const seen = new Map<string, number[]>();
  for (const row of rows) {
    const list = seen.get(row.subject) ?? [];
    list.push(Number(row.seq));
    seen.set(row.subject, list);
  }
  const planned = new Map<string, number>();
  for (const event of plan) planned.set(event.subject, Math.max(planned.get(event.subject) ?? 0, event.seq));
  let lost = 0;
  let inversions = 0;
  let subjectsOutOfOrder = 0;
  const examples: string[] = [];
  for (const [subject, count] of planned) {
    const list = seen.get(subject) ?? [];
    lost += count - new Set(list).size;
    let max = 0;
    let disordered = false;
    for (const seq of list) {
      if (seq < max) {
        inversions++;
        disordered = true;
        if (examples.length < 5) examples.push(`${subject}: ${seq} after ${max}`);
      }
      max = Math.max(max, seq);
    }
    if (disordered) subjectsOutOfOrder++;
  }
  return { applied: rows.length, lost, subjectsOutOfOrder, inversions, examples };
}
