import { toJSONSchema, type core } from 'zod';
import { encodeJson } from '../core/json-codec.js';
import { InvalidSchemaError } from './schema-errors.js';

/** A JSON Schema object: keywords to values. */
export interface JsonSchemaObject {
  [keyword: string]: unknown;
}

/** A JSON Schema: an object, or `true` (anything) / `false` (nothing). */
export type JsonSchema = boolean | JsonSchemaObject;

/**
 * What a schema can be given as: a zod schema (converted with `z.toJSONSchema`) or a JSON
 * Schema (draft-07, 2019-09 or 2020-12; 2020-12 when it has no `$schema`).
 */
export type SchemaSource = JsonSchema | core.$ZodType;

/** True when `value` is a zod (v4) schema. */
export function isZodSchema(value: unknown): value is core.$ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/**
 * The JSON Schema of a schema source, as it will be stored. A zod schema is converted for
 * its input side (`io: 'input'`): `z.object` stays open to unknown keys, as zod's parsing is,
 * `z.strictObject` is closed, and fields with a `.default()` are optional with a `default`.
 *
 * @throws {InvalidSchemaError} when the zod schema has parts JSON Schema cannot express
 *   (dates, transforms...) or the value is neither a zod schema nor a JSON Schema.
 * @example
 * ```ts
 * toJsonSchema('order.placed', z.object({ orderId: z.string() }));
 * // { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', ... }
 * ```
 */
export function toJsonSchema(eventType: string, source: SchemaSource): JsonSchema {
  let schema: unknown = source;
  if (isZodSchema(source)) {
    try {
      schema = toJSONSchema(source, { io: 'input', unrepresentable: 'throw' });
    } catch (error) {
      throw new InvalidSchemaError(
        eventType,
        `zod cannot express it as JSON Schema: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  if (typeof schema === 'boolean') return schema;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new InvalidSchemaError(
      eventType,
      'expected a zod schema, a JSON Schema object, true or false',
    );
  }
  try {
    // Stored as JSON, so it must survive JSON unchanged; the copy also detaches it from the caller.
    return JSON.parse(encodeJson(schema, '$schema')) as JsonSchemaObject;
  } catch (error) {
    throw new InvalidSchemaError(eventType, (error as Error).message, { cause: error });
  }
}

/**
 * JSON text of a value with object keys sorted, so two equal schemas give the same text.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
