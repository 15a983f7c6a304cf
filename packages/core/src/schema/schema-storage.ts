import type { CompatibilityMode } from './compatibility.js';
import type { JsonSchema } from './json-schema.js';

/** One version of one event type's schema, as stored. */
export interface SchemaRecord {
  /** The event type, e.g. `order.placed`. */
  type: string;
  /** 1, 2, 3...: versions of a type are gapless. */
  version: number;
  /** The JSON Schema of the event's `data` at this version. */
  schema: JsonSchema;
  registeredAt: Date;
}

/**
 * Where a schema registry keeps its schemas and per-type compatibility modes, so they
 * survive a restart and other processes see them. Each adapter keeps them in the same
 * database as the events; every implementation passes
 * `src/testing/schema-storage.suite.ts`.
 *
 * Records are never changed or removed: a version, once stored, is the schema its events
 * were validated against forever.
 */
export interface SchemaStorage {
  /** Every stored schema, ordered by type then version. */
  listSchemas(): Promise<SchemaRecord[]>;

  /**
   * Stores a new version, and sets the type's compatibility mode with it when `compatibility`
   * is given, atomically. Resolves `false`, writing nothing, when that type already has that
   * version (another writer got there first).
   */
  insertSchema(record: SchemaRecord, compatibility?: CompatibilityMode): Promise<boolean>;

  /** Every type's compatibility mode that was set explicitly. */
  listCompatibility(): Promise<Map<string, CompatibilityMode>>;

  /** Sets a type's compatibility mode (the type need not have schemas yet). */
  setCompatibility(type: string, mode: CompatibilityMode): Promise<void>;
}
