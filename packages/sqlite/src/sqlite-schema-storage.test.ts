import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SchemaTooNewError, StoreClosedError, SchemaRegistry } from '@causewayjs/core';
import { SqliteEventStore } from './sqlite-event-store.js';
import { SqliteSchemaStorage } from './sqlite-schema-storage.js';
import { sqliteEventStoreMigrations } from './sqlite-migrations.js';

describe('SqliteSchemaStorage', () => {
  let dir: string;
  let file: string;
  let events: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-schemas-'));
    file = join(dir, 'events.db');
    events = SqliteEventStore.open(file);
  });

  afterEach(async () => {
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its tables in the event store file, migrated as its own component', () => {
    SqliteSchemaStorage.open(events);
    expect(
      events.database
        .prepare('SELECT component, version FROM causeway_schema_version ORDER BY component')
        .all(),
    ).toEqual([
      { component: 'event-store', version: sqliteEventStoreMigrations.length },
      { component: 'schema-registry', version: 1 },
    ]);
  });

  it('keeps the registry across a restart of the process', async () => {
    const registry = await SchemaRegistry.open({ storage: SqliteSchemaStorage.open(events) });
    await registry.register('order.placed', z.object({ orderId: z.string() }), {
      compatibility: 'full',
    });
    await events.close();
    events = SqliteEventStore.open(file);
    const reopened = await SchemaRegistry.open({ storage: SqliteSchemaStorage.open(events) });
    expect(reopened.types()).toEqual(['order.placed']);
    expect(reopened.compatibility('order.placed')).toBe('full');
  });

  it('fails with StoreClosedError once the event store is closed', async () => {
    const storage = SqliteSchemaStorage.open(events);
    await events.close();
    await expect(storage.listSchemas()).rejects.toBeInstanceOf(StoreClosedError);
    await expect(storage.setCompatibility('a.b', 'none')).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('refuses tables migrated by a newer version', () => {
    SqliteSchemaStorage.open(events);
    events.database
      .prepare("UPDATE causeway_schema_version SET version = 7 WHERE component = 'schema-registry'")
      .run();
    expect(() => SqliteSchemaStorage.open(events)).toThrow(SchemaTooNewError);
  });
});
