import type { JsonSchema } from '../json-schema';
import { checkCompatibility } from './check-compatibility';

const locked: JsonSchema = {
  type: 'object',
  properties: {
    orderId: { type: 'string', format: 'uuid' },
    reason: { type: 'string', enum: ['A', 'B'] },
    note: { type: 'string', maxLength: 100 },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 64 },
          quantity: { type: 'integer', minimum: 1, maximum: 1000 },
        },
        required: ['sku', 'quantity'],
      },
    },
  },
  required: ['orderId', 'reason', 'items'],
};
type Node = Record<string, unknown>;
/** A copy of `locked` with each [dotted path, value] set, or deleted when the value is undefined. */
const changed = (...edits: [path: string, value: unknown][]): JsonSchema => {
  const copy = structuredClone(locked) as Node;
  for (const [path, value] of edits) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    const parent = keys.reduce((node, key) => node[key] as Node, copy);
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
  return copy;
};
const issuesOf = (current: JsonSchema) => checkCompatibility(locked, current).map((i) => `${i.path}: ${i.message}`);

describe('checkCompatibility', () => {
  it('accepts an identical schema', () => {
    expect(issuesOf(structuredClone(locked))).toEqual([]);
  });

  it('accepts new optional properties, at the root and inside array items', () => {
    const current = changed(
      ['properties.giftWrap', { type: 'boolean' }],
      ['properties.items.items.properties.colour', { type: 'string' }],
    );
    expect(issuesOf(current)).toEqual([]);
  });

  it('ignores annotations such as descriptions', () => {
    expect(issuesOf(changed(['properties.note.description', 'Free text.']))).toEqual([]);
  });

  const item = 'properties.items.items';
  it.each<[string, [string, unknown][], string]>([
    ['a removed property', [['properties.note', undefined]], '$.note: property removed'],
    ['a changed type', [['properties.note.type', 'integer']], '$.note: type changed from "string" to "integer"'],
    [
      'an optional property made required',
      [['required', ['orderId', 'reason', 'items', 'note']]],
      '$.note: optional property became required',
    ],
    [
      'a required property made optional',
      [['required', ['orderId', 'items']]],
      '$.reason: required property became optional',
    ],
    [
      'a new required property',
      [
        ['properties.currency', { const: 'USD' }],
        ['required', ['orderId', 'reason', 'items', 'currency']],
      ],
      '$.currency: new required property',
    ],
    [
      'a new required property inside array items',
      [
        [`${item}.properties.unitPrice`, { type: 'integer' }],
        [`${item}.required`, ['sku', 'quantity', 'unitPrice']],
      ],
      '$.items[].unitPrice: new required property',
    ],
    ['a removed enum value', [['properties.reason.enum', ['A']]], '$.reason: enum value "B" removed'],
    ['an added enum value', [['properties.reason.enum', ['A', 'B', 'C']]], '$.reason: enum value "C" added'],
    ['a tightened maxLength', [['properties.note.maxLength', 50]], '$.note: maxLength tightened from 100 to 50'],
    ['a new minLength', [['properties.note.minLength', 1]], '$.note: minLength tightened from none to 1'],
    ['a tightened minItems', [['properties.items.minItems', 2]], '$.items: minItems tightened from 1 to 2'],
    ['a tightened maxItems', [['properties.items.maxItems', 10]], '$.items: maxItems tightened from 50 to 10'],
    [
      'a tightened minLength in array items',
      [[`${item}.properties.sku.minLength`, 2]],
      '$.items[].sku: minLength tightened from 1 to 2',
    ],
    [
      'a tightened minimum',
      [[`${item}.properties.quantity.minimum`, 2]],
      '$.items[].quantity: minimum tightened from 1 to 2',
    ],
    [
      'a tightened maximum',
      [[`${item}.properties.quantity.maximum`, 100]],
      '$.items[].quantity: maximum tightened from 1000 to 100',
    ],
    [
      'a loosened maximum (old consumers would reject what new producers send)',
      [[`${item}.properties.quantity.maximum`, 5000]],
      '$.items[].quantity: maximum loosened from 1000 to 5000',
    ],
    ['a changed format', [['properties.orderId.format', 'email']], '$.orderId: format changed from "uuid" to "email"'],
    ['a new pattern', [['properties.note.pattern', '^a']], '$.note: pattern changed from none to "^a"'],
    ['a closed object', [['additionalProperties', false]], '$: additionalProperties changed from none to false'],
  ])('reports %s', (_, edits, issue) => {
    expect(issuesOf(changed(...edits))).toEqual([issue]);
  });

  it('reports a new optional property when the locked object allowed no other property', () => {
    const closed = { ...locked, additionalProperties: false };
    const current = {
      ...closed,
      properties: {
        ...(locked['properties'] as object),
        giftWrap: { type: 'boolean' },
      },
    };
    expect(checkCompatibility(closed, current)).toEqual([
      { path: '$.giftWrap', message: 'new property where none were allowed' },
    ]);
  });

  it('compares the options of a union one by one', () => {
    const before: JsonSchema = {
      anyOf: [{ const: 'PENDING' }, { const: 'CONFIRMED' }],
    };
    expect(
      checkCompatibility(before, {
        anyOf: [{ const: 'PENDING' }, { const: 'SHIPPED' }],
      }),
    ).toEqual([
      {
        path: '$.anyOf[1]',
        message: 'const changed from "CONFIRMED" to "SHIPPED"',
      },
    ]);
    expect(checkCompatibility(before, { anyOf: [{ const: 'PENDING' }] })).toEqual([
      { path: '$', message: 'anyOf changed from 2 to 1 options' },
    ]);
  });

  it('reports every incompatibility, not just the first', () => {
    const current = changed(['properties.note', undefined], ['properties.reason.enum', ['A']]);
    expect(issuesOf(current)).toEqual(['$.reason: enum value "B" removed', '$.note: property removed']);
  });
});
