import { isDeepStrictEqual } from 'node:util';
import type { JsonSchema } from '../json-schema';

export interface CompatibilityIssue {
  /** Where in the data: `$` is the root, `$.items[].sku` a property of every array item. */
  path: string;
  message: string;
}

const ANNOTATIONS = new Set(['title', 'description', 'examples', 'default', 'deprecated', '$comment', '$schema']);
const LOWER_BOUNDS = ['minLength', 'minItems', 'minProperties', 'minimum', 'exclusiveMinimum'];
const UPPER_BOUNDS = ['maxLength', 'maxItems', 'maxProperties', 'maximum', 'exclusiveMaximum'];
const COMBINATORS = ['anyOf', 'oneOf', 'allOf'];
const STRUCTURAL = new Set([
  'properties',
  'required',
  'items',
  'enum',
  ...COMBINATORS,
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
]);

const isSchema = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const schemasOf = (value: unknown): Record<string, JsonSchema> =>
  isSchema(value) ? (value as Record<string, JsonSchema>) : {};
const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const show = (value: unknown): string => (value === undefined ? 'none' : JSON.stringify(value));

/**
 * Compares the locked JSON Schema of a published (type, version) with the current one. Producers and
 * consumers of that version must keep understanding each other, so the only compatible change is a new
 * optional property (at any depth, array items included); anything else is reported: a property
 * removed, a new required property, optional <-> required, a type, const, format or pattern changed,
 * an enum value removed or added, a bound tightened or loosened.
 * Returns no issue when the schemas are compatible.
 */
export function checkCompatibility(locked: JsonSchema, current: JsonSchema, path = '$'): CompatibilityIssue[] {
  const issues: CompatibilityIssue[] = [];
  const report = (message: string, at = path) => issues.push({ path: at, message });

  const oldProperties = schemasOf(locked['properties']);
  const newProperties = schemasOf(current['properties']);
  const oldRequired = new Set(listOf(locked['required']));
  const newRequired = new Set(listOf(current['required']));
  for (const [name, schema] of Object.entries(oldProperties)) {
    const at = `${path}.${name}`;
    if (!(name in newProperties)) {
      report('property removed', at);
      continue;
    }
    if (!oldRequired.has(name) && newRequired.has(name)) report('optional property became required', at);
    if (oldRequired.has(name) && !newRequired.has(name)) report('required property became optional', at);
    issues.push(...checkCompatibility(schema, newProperties[name], at));
  }
  for (const name of Object.keys(newProperties).filter((n) => !(n in oldProperties))) {
    if (newRequired.has(name)) report('new required property', `${path}.${name}`);
    else if (locked['additionalProperties'] === false)
      report('new property where none were allowed', `${path}.${name}`);
  }

  const compareSubschemas = (before: unknown, after: unknown, at: string, what: string) => {
    if (isSchema(before) && isSchema(after)) issues.push(...checkCompatibility(before, after, at));
    else if (!isDeepStrictEqual(before, after)) report(`${what} changed from ${show(before)} to ${show(after)}`);
  };
  compareSubschemas(locked['items'], current['items'], `${path}[]`, 'items');
  for (const keyword of COMBINATORS) {
    const [oldOptions, newOptions] = [listOf(locked[keyword]), listOf(current[keyword])];
    if (oldOptions.length !== newOptions.length) {
      report(`${keyword} changed from ${oldOptions.length} to ${newOptions.length} options`);
    } else {
      oldOptions.forEach((option, i) => compareSubschemas(option, newOptions[i], `${path}.${keyword}[${i}]`, keyword));
    }
  }

  if ('enum' in locked || 'enum' in current) {
    const [oldValues, newValues] = [listOf(locked['enum']), listOf(current['enum'])];
    const missing = (from: unknown[], to: unknown[]) => from.filter((v) => !to.some((w) => isDeepStrictEqual(v, w)));
    for (const value of missing(oldValues, newValues)) report(`enum value ${show(value)} removed`);
    for (const value of missing(newValues, oldValues)) report(`enum value ${show(value)} added`);
  }

  const bound = (keyword: string, tighter: (before: number, after: number) => boolean) => {
    const [before, after] = [locked[keyword] as number | undefined, current[keyword] as number | undefined];
    if (before === after) return;
    const tightened = after !== undefined && (before === undefined || tighter(before, after));
    report(`${keyword} ${tightened ? 'tightened' : 'loosened'} from ${show(before)} to ${show(after)}`);
  };
  LOWER_BOUNDS.forEach((keyword) => bound(keyword, (before, after) => after > before));
  UPPER_BOUNDS.forEach((keyword) => bound(keyword, (before, after) => after < before));

  const others = new Set([...Object.keys(locked), ...Object.keys(current)]);
  for (const keyword of others) {
    if (STRUCTURAL.has(keyword) || ANNOTATIONS.has(keyword)) continue;
    if (!isDeepStrictEqual(locked[keyword], current[keyword])) {
      report(`${keyword} changed from ${show(locked[keyword])} to ${show(current[keyword])}`);
    }
  }
  return issues;
}
