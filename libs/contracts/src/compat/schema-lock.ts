import { isDeepStrictEqual } from 'node:util';
import { type JsonSchema, toJsonSchema } from '../json-schema';
import { EVENTS, type EventRegistry } from '../registry';
import { checkCompatibility } from './check-compatibility';

/** The JSON Schema of the data of every published (type, version): `lock[type][version]`. */
export type SchemaLock = { [type: string]: { [version: string]: JsonSchema } };

export const SCHEMA_LOCK_COMMAND = 'npx nx run contracts:schema-lock';

/** The current data schemas of every (type, version), in the lock's shape, types sorted. */
export function currentSchemas(registry: EventRegistry = EVENTS): SchemaLock {
  const lock: SchemaLock = {};
  for (const definition of [...registry.all].sort((a, b) => a.type.localeCompare(b.type))) {
    lock[definition.type] = {};
    for (const [version, schema] of definition.versions) lock[definition.type][version] = toJsonSchema(schema);
  }
  return lock;
}

export interface SchemaLockReview {
  /** The lock with new versions and compatible changes recorded, incompatible entries left as they were. */
  lock: SchemaLock;
  /** New versions and compatible changes: what `lock` records and the given lock does not. */
  pending: string[];
  /** What may not be recorded: incompatible changes to a published version, and removed versions. */
  problems: string[];
}

/** Compares a lock with the current schemas (see SchemaLockReview). Pure. */
export function reviewSchemaLock(locked: SchemaLock, registry: EventRegistry = EVENTS): SchemaLockReview {
  const current = currentSchemas(registry);
  const review: SchemaLockReview = { lock: {}, pending: [], problems: [] };
  const record = (type: string, version: string, schema: JsonSchema) => ((review.lock[type] ??= {})[version] = schema);

  for (const [type, versions] of Object.entries(current)) {
    for (const [version, schema] of Object.entries(versions)) {
      const previous = locked[type]?.[version];
      if (previous === undefined) {
        review.pending.push(`${type} v${version} is not in the schema lock`);
        record(type, version, schema);
        continue;
      }
      const issues = checkCompatibility(previous, schema);
      review.problems.push(...issues.map((issue) => `${type} v${version} at ${issue.path}: ${issue.message}`));
      if (issues.length > 0) record(type, version, previous);
      else {
        if (!isDeepStrictEqual(previous, schema))
          review.pending.push(`${type} v${version} changed compatibly since it was locked`);
        record(type, version, schema);
      }
    }
  }
  for (const [type, versions] of Object.entries(locked)) {
    for (const [version, schema] of Object.entries(versions)) {
      if (current[type]?.[version] !== undefined) continue;
      review.problems.push(
        `${type} v${version} is locked but no longer defined: published versions must stay readable`,
      );
      record(type, version, schema);
    }
  }
  return review;
}

/** The lock as JSON text, types sorted (the schema-lock target then formats it with Prettier). */
export function formatSchemaLock(lock: SchemaLock): string {
  const sorted = Object.fromEntries(
    Object.keys(lock)
      .sort()
      .map((type) => [type, lock[type]]),
  );
  return `${JSON.stringify(sorted, null, 2)}\n`;
}
