import { InvalidArgumentError } from '@causewayjs/core';

/** PostgreSQL's limit on identifier length, in bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Throws `InvalidArgumentError` unless `schema` can name a PostgreSQL schema. */
export function assertSchemaName(schema: unknown): asserts schema is string {
  if (
    typeof schema !== 'string' ||
    schema.length === 0 ||
    schema.includes('\u0000') ||
    Buffer.byteLength(schema) > MAX_IDENTIFIER_BYTES
  ) {
    throw new InvalidArgumentError(
      'schema',
      `must be a non-empty name of at most ${MAX_IDENTIFIER_BYTES} bytes without NUL`,
    );
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
}

/** A readable message for any thrown value, including the driver's AggregateErrors. */
export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((e) => messageOf(e)).join('; ');
  }
  return error instanceof Error ? error.message || error.constructor.name : String(error);
}
