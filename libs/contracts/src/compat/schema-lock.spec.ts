import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { defineEvent } from '../define-event';
import { OrderPlaced } from '../events';
import { createEventRegistry, EVENTS } from '../registry';
import { formatSchemaLock, reviewSchemaLock, SCHEMA_LOCK_COMMAND, type SchemaLock } from './schema-lock';

const LOCK_FILE = join(__dirname, '../../schema-lock.json');
const committed = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as SchemaLock;

describe('schema-lock.json', () => {
  const review = reviewSchemaLock(committed, EVENTS);

  it('has every published (type, version) unchanged, except for new optional fields', () => {
    expect(review.problems).toEqual([]);
  });

  it('records every (type, version) of the current definitions', () => {
    expect(review.pending.map((entry) => `${entry}: run \`${SCHEMA_LOCK_COMMAND}\` to record it`)).toEqual([]);
  });
});

describe('reviewSchemaLock', () => {
  const V1 = z.object({ orderId: z.uuid(), amount: z.int().min(0) });
  const event = (...versions: [z.ZodObject<{ orderId: z.ZodUUID }>]) =>
    createEventRegistry([
      defineEvent({
        type: 'test.event',
        producer: 'orders',
        description: 'A test event.',
        versions,
        upcasters: [],
      }),
    ]);
  const lockOf = (registry = event(V1)) => reviewSchemaLock({}, registry).lock;

  it('records a version that is not locked yet, and says so', () => {
    const review = reviewSchemaLock({}, event(V1));
    expect(Object.keys(review.lock['test.event'])).toEqual(['1']);
    expect(review.pending).toEqual(['test.event v1 is not in the schema lock']);
    expect(review.problems).toEqual([]);
  });

  it('records a new optional field of a published version', () => {
    const review = reviewSchemaLock(lockOf(), event(V1.extend({ note: z.string().optional() })));
    expect(review.problems).toEqual([]);
    expect(review.pending).toEqual(['test.event v1 changed compatibly since it was locked']);
    expect(review.lock['test.event']['1']['properties']).toHaveProperty('note');
  });

  it('keeps the locked schema and names type, version and path of an incompatible change', () => {
    const locked = lockOf();
    const review = reviewSchemaLock(locked, event(V1.extend({ amount: z.int().min(1) })));
    expect(review.problems).toEqual(['test.event v1 at $.amount: minimum tightened from 0 to 1']);
    expect(review.lock).toEqual(locked);
  });

  it('reports a locked version that is no longer defined', () => {
    const locked = { ...lockOf(), 'test.gone': lockOf()['test.event'] };
    expect(reviewSchemaLock(locked, event(V1)).problems).toEqual([
      'test.gone v1 is locked but no longer defined: published versions must stay readable',
    ]);
  });

  it('sorts types in the file whatever the registry order', () => {
    const lock = reviewSchemaLock(
      {},
      createEventRegistry([OrderPlaced, ...EVENTS.all.filter((e) => e !== OrderPlaced)]),
    ).lock;
    expect(Object.keys(JSON.parse(formatSchemaLock(lock)))).toEqual(Object.keys(lock).sort());
  });
});
