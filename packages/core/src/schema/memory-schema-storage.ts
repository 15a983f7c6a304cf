import { decodeJson, encodeJson } from '../core/json-codec.js';
import type { CompatibilityMode } from './compatibility.js';
import type { SchemaRecord, SchemaStorage } from './schema-storage.js';

interface StoredRecord {
  type: string;
  version: number;
  schema: string;
  registeredAt: number;
}

/**
 * Schemas in process memory, for tests and the memory event store. Share one instance
 * between registries to model several processes on one database. Schemas are kept as JSON
 * text, so what is read back is always a fresh copy.
 *
 * @example
 * ```ts
 * const registry = await SchemaRegistry.open({ storage: new MemorySchemaStorage() });
 * ```
 */
export class MemorySchemaStorage implements SchemaStorage {
  private readonly records = new Map<string, StoredRecord>();
  private readonly modes = new Map<string, CompatibilityMode>();

  listSchemas(): Promise<SchemaRecord[]> {
    const records = [...this.records.values()]
      .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.version - b.version))
      .map((r) => ({
        type: r.type,
        version: r.version,
        schema: decodeJson<SchemaRecord['schema']>(r.schema),
        registeredAt: new Date(r.registeredAt),
      }));
    return Promise.resolve(records);
  }

  insertSchema(record: SchemaRecord, compatibility?: CompatibilityMode): Promise<boolean> {
    return new Promise((resolve) => {
      const key = `${record.version}:${record.type}`;
      if (this.records.has(key)) {
        resolve(false);
        return;
      }
      const stored: StoredRecord = {
        type: record.type,
        version: record.version,
        schema: encodeJson(record.schema),
        registeredAt: record.registeredAt.getTime(),
      };
      this.records.set(key, stored);
      if (compatibility !== undefined) this.modes.set(record.type, compatibility);
      resolve(true);
    });
  }

  listCompatibility(): Promise<Map<string, CompatibilityMode>> {
    return Promise.resolve(new Map(this.modes));
  }

  setCompatibility(type: string, mode: CompatibilityMode): Promise<void> {
    this.modes.set(type, mode);
    return Promise.resolve();
  }
}
