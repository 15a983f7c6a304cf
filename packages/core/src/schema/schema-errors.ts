import { CausewayError } from '../core/errors.js';
import type { CompatibilityIssue, CompatibilityMode } from './compatibility.js';
import type { ValidationIssue } from './schema-validator.js';

/**
 * Stable error codes of the schema module (registry, validation, upcasting). Like
 * the core's `ErrorCode`, a code never changes meaning once published.
 */
export const SchemaErrorCode = {
  INVALID_SCHEMA: 'INVALID_SCHEMA',
  INCOMPATIBLE_SCHEMA: 'INCOMPATIBLE_SCHEMA',
  SCHEMA_CONFLICT: 'SCHEMA_CONFLICT',
  UNKNOWN_SCHEMA_VERSION: 'UNKNOWN_SCHEMA_VERSION',
  UNREGISTERED_EVENT_TYPE: 'UNREGISTERED_EVENT_TYPE',
  SCHEMA_VALIDATION_FAILED: 'SCHEMA_VALIDATION_FAILED',
  INVALID_UPCASTER: 'INVALID_UPCASTER',
  UPCASTER_MISSING: 'UPCASTER_MISSING',
  UPCAST_FAILED: 'UPCAST_FAILED',
} as const;

/** One of the values of {@link SchemaErrorCode}. */
export type SchemaErrorCode = (typeof SchemaErrorCode)[keyof typeof SchemaErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    schema: SchemaErrorCode;
  }
}

/** A schema could not be used: not JSON Schema, not representable, or refused by ajv. */
export class InvalidSchemaError extends CausewayError {
  constructor(
    readonly eventType: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(SchemaErrorCode.INVALID_SCHEMA, `Invalid schema for "${eventType}": ${reason}`, options);
  }
}

/**
 * A new schema version breaks the type's compatibility mode. Nothing was registered;
 * `issues` lists each breaking change.
 */
export class IncompatibleSchemaError extends CausewayError {
  constructor(
    readonly eventType: string,
    readonly version: number,
    readonly mode: CompatibilityMode,
    readonly issues: readonly CompatibilityIssue[],
  ) {
    super(
      SchemaErrorCode.INCOMPATIBLE_SCHEMA,
      `Cannot register version ${version} of "${eventType}": it breaks ${mode} compatibility with version ${version - 1}:\n` +
        issues.map((i) => `  - ${i.direction}: ${i.path}: ${i.message}`).join('\n'),
    );
  }
}

/**
 * A version was registered with a different schema than the one already stored under that
 * number (by this process or another), or out of order.
 */
export class SchemaConflictError extends CausewayError {
  constructor(
    readonly eventType: string,
    readonly version: number,
    reason: string,
  ) {
    super(
      SchemaErrorCode.SCHEMA_CONFLICT,
      `Cannot register version ${version} of "${eventType}": ${reason}`,
    );
  }
}

/** An event names a schema version that is not registered for its type. */
export class UnknownSchemaVersionError extends CausewayError {
  constructor(
    readonly eventType: string,
    readonly version: number,
    /** Versions that are registered, ascending. */
    readonly known: readonly number[],
  ) {
    super(
      SchemaErrorCode.UNKNOWN_SCHEMA_VERSION,
      `Version ${version} of "${eventType}" is not registered (registered: ${known.length ? known.join(', ') : 'none'})`,
    );
  }
}

/** A strict schema-aware store was asked to append an event whose type has no schema. */
export class UnregisteredEventTypeError extends CausewayError {
  constructor(
    readonly eventType: string,
    /** Index of the event in its append. */
    readonly index: number,
  ) {
    super(
      SchemaErrorCode.UNREGISTERED_EVENT_TYPE,
      `Event at index ${index} has type "${eventType}", which has no registered schema (the store is strict)`,
    );
  }
}

/** Why one event of an append failed validation. */
export interface EventValidationFailure {
  /** Index of the request in `appendMany` (0 for `append`). */
  request: number;
  /** Index of the event in its request. */
  index: number;
  eventType: string;
  version: number;
  issues: readonly ValidationIssue[];
}

/**
 * Events of an append do not match their schemas. Nothing was written; `failures` lists
 * each failing event with its failing paths.
 */
export class SchemaValidationError extends CausewayError {
  constructor(readonly failures: readonly EventValidationFailure[]) {
    super(
      SchemaErrorCode.SCHEMA_VALIDATION_FAILED,
      `${failures.length} event(s) do not match their schema; nothing was written:\n` +
        failures
          .map(
            (f) =>
              `  - event ${f.index}${f.request ? ` of request ${f.request}` : ''} (${f.eventType} v${f.version}): ` +
              f.issues.map((i) => `${i.path} ${i.message}`).join('; '),
          )
          .join('\n'),
    );
  }
}

/** An upcaster definition was malformed or duplicated. */
export class InvalidUpcasterError extends CausewayError {
  constructor(reason: string) {
    super(SchemaErrorCode.INVALID_UPCASTER, `Invalid upcaster: ${reason}`);
  }
}

/** An event could not be brought to the current version: a link of the chain is missing. */
export class UpcasterMissingError extends CausewayError {
  constructor(
    readonly eventId: string,
    readonly eventType: string,
    /** The event's stored version. */
    readonly storedVersion: number,
    /** The version the chain should reach. */
    readonly targetVersion: number,
    /** The first version with no upcaster to the next. */
    readonly missingFrom: number,
  ) {
    super(
      SchemaErrorCode.UPCASTER_MISSING,
      `Cannot upcast event ${eventId} (${eventType}) from v${storedVersion} to v${targetVersion}: no upcaster from v${missingFrom} to v${missingFrom + 1}`,
    );
  }
}

/** An upcaster threw (or produced data the target schema refuses). */
export class UpcastFailedError extends CausewayError {
  constructor(
    readonly eventId: string,
    readonly eventType: string,
    readonly fromVersion: number,
    readonly toVersion: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      SchemaErrorCode.UPCAST_FAILED,
      `Upcasting event ${eventId} (${eventType}) from v${fromVersion} to v${toVersion} failed: ${reason}`,
      options,
    );
  }
}
