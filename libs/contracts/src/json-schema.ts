import { z } from 'zod';

/** A JSON Schema (draft-07, the dialect AsyncAPI schemas build on) as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * The JSON Schema of what a producer may send (zod's input side): objects are open, as consumers
 * ignore fields they do not know.
 */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target: 'draft-07',
    io: 'input',
  });
  return JSON.parse(JSON.stringify(json)) as JsonSchema;
}
