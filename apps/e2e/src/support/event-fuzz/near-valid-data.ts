import type { EventDefinition } from '@shop/contracts';
import * as fc from 'fast-check';
import type { FuzzWorld, Json, JsonObject } from './fuzz-message';
import { uuid } from './message-parts';
import { preview } from './preview';
import { validData } from './valid-event-data';

const clone = <T>(value: T): T => structuredClone(value);

/** A value of another JSON type than usual. */
const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

const badOrderId: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom('not-a-uuid', '', ' ', 'null', '../../etc/passwd', "'; DROP TABLE orders; --"),
  uuid().map((id) => id.replace(/-/g, '')),
  uuid().map((id) => ` ${id}`),
  uuid().map((id) => `${id}0`),
  uuid().map((id) => `{${id}}`),
  uuid().map((id) => id.slice(0, 35)),
  fc.integer(),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
);

/** Out-of-range or oversized versions of a value, by its kind. */
function outOfRange(value: Json): fc.Arbitrary<Json> {
  if (typeof value === 'number') {
    return fc.constantFrom(
      -1,
      -0.5,
      0,
      1.5,
      1001,
      1e6 + 0.25,
      2 ** 31,
      2 ** 53 + 2,
      1e21,
      -1e21,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
    );
  }
  if (typeof value === 'string') {
    return fc.oneof(
      fc.constant(''),
      fc.integer({ min: 65, max: 20_000 }).map((n) => 'x'.repeat(n)),
      fc.constant('\u0000'),
    );
  }
  if (Array.isArray(value)) {
    return fc.oneof(
      fc.constant([]),
      fc.constant(Array.from({ length: 51 }, () => clone(value[0] ?? {}))),
      fc.constant([null]),
      fc.constant([{}]),
    );
  }
  return oddValue;
}

/** A field to change: a top-level key, or a key of the first element of an array field. */
function fieldPaths(data: JsonObject): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(data)) {
    paths.push([key]);
    if (Array.isArray(value) && value[0] && typeof value[0] === 'object') {
      for (const inner of Object.keys(value[0] as JsonObject)) paths.push([key, '0', inner]);
    }
  }
  return paths;
}

function getAt(data: JsonObject, path: string[]): Json {
  let node: Json = data;
  for (const part of path) node = (node as Record<string, Json>)[part];
  return node;
}

function setAt(data: JsonObject, path: string[], value: Json | undefined): void {
  let node = data as Record<string, Json>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, Json>;
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

interface DataMutation {
  apply(data: JsonObject): { data: Json; note: string };
}

/** One change to valid data that (nearly always) makes it invalid. */
function dataMutation(): fc.Arbitrary<DataMutation> {
  return fc.oneof(
    fc.record({ pick: fc.nat(), value: oddValue }).map(({ pick, value }) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        setAt(data, path, value);
        return { data, note: `${path.join('.')}=${preview(value)} (wrong type)` };
      },
    })),
    fc.record({ pick: fc.nat(), seed: fc.nat() }).map(({ pick, seed }) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        const [value] = fc.sample(outOfRange(getAt(data, path)), { seed, numRuns: 1 });
        setAt(data, path, value);
        return { data, note: `${path.join('.')}=${preview(value)} (out of range)` };
      },
    })),
    fc.nat().map((pick) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        setAt(data, path, undefined);
        return { data, note: `${path.join('.')} missing` };
      },
    })),
    fc.nat().map((pick) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        setAt(data, path, null);
        return { data, note: `${path.join('.')}=null` };
      },
    })),
    badOrderId.map((value) => ({
      apply: (data: JsonObject) => {
        data['orderId'] = value;
        return { data, note: `orderId=${preview(value)}` };
      },
    })),
    fc
      .oneof(
        fc.anything({ maxDepth: 3 }),
        fc.object({ maxDepth: 2 }),
        fc.constant(null),
        fc.constant([]),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map((value) => ({
        apply: () => ({ data: value, note: `data=${preview(value)}` }),
      })),
  );
}

function pathOf(data: JsonObject, pick: number): string[] {
  const paths = fieldPaths(data);
  return paths.length ? paths[pick % paths.length] : ['orderId'];
}

/** Fields a producer never sends (zod strips them): harmless alone, so only ever added to invalid data. */
export const extraFields = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), {
  minKeys: 1,
  maxKeys: 4,
});

/** Near-valid data: the real field names, 1 to 3 changes, sometimes extra fields. */
export function nearValidData(
  definition: EventDefinition,
  world: FuzzWorld,
): fc.Arbitrary<{ data: Json; orderId: string; note: string }> {
  return fc.constantFrom(...world.orderIds).chain((orderId) =>
    fc
      .tuple(
        validData(definition.type, orderId, world),
        fc.array(dataMutation(), { minLength: 1, maxLength: 3 }),
        fc.option(extraFields, { freq: 4 }),
      )
      .map(([valid, mutations, extra]) => {
        let data: Json = clone(valid);
        const notes: string[] = [];
        for (const mutation of mutations) {
          if (data === null || typeof data !== 'object' || Array.isArray(data)) break;
          const result = mutation.apply(data as JsonObject);
          data = result.data;
          notes.push(result.note);
        }
        if (extra && data !== null && typeof data === 'object' && !Array.isArray(data)) {
          data = { ...(data as JsonObject), ...extra };
          notes.push(`+${Object.keys(extra).length} extra field(s)`);
        }
        return { data, orderId, note: notes.join('; ') };
      }),
  );
}
