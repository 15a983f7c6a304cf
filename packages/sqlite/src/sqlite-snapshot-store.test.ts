import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SchemaTooNewError,
  StoreClosedError,
  CommandHandler,
  everyNEvents,
} from '@causewayjs/core';
import { orderDecider, type OrderCommand } from '../../../examples/shop/order-decider.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { SqliteSnapshotStore } from './sqlite-snapshot-store.js';
import { holdTransaction } from '../../../test/support/hold-transaction.js';
import { sqliteEventStoreMigrations } from './sqlite-migrations.js';

const snap = (revision: number) => ({
  revision,
  stateVersion: 'v1',
  state: { n: revision },
  takenAt: new Date('2026-03-01T00:00:00Z'),
});

describe('SqliteSnapshotStore', () => {
  let dir: string;
  let file: string;
  let events: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-snapshots-'));
    file = join(dir, 'events.db');
    events = SqliteEventStore.open(file);
  });

  afterEach(async () => {
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for a transaction in progress instead of meeting a busy file', async () => {
    const snapshots = SqliteSnapshotStore.open(events);
    const tx = await holdTransaction(events);
    const order: string[] = [];
    const save = snapshots
      .save('order-1', { revision: 0, stateVersion: 'v1', state: { n: 1 }, takenAt: new Date(0) })
      .then(() => order.push('saved'));
    // The save is queued behind the transaction: it must not have run (or failed) yet.
    await Promise.resolve();
    order.push('releasing');
    await tx.release();
    await save;
    expect(order).toEqual(['releasing', 'saved']);
    expect(await snapshots.load('order-1', 'v1')).toMatchObject({ revision: 0, state: { n: 1 } });
  });

  it('keeps its table in the event store file, migrated as its own component', () => {
    SqliteSnapshotStore.open(events);
    SqliteSnapshotStore.open(events);
    expect(
      events.database
        .prepare('SELECT component, version FROM causeway_schema_version ORDER BY component')
        .all(),
    ).toEqual([
      { component: 'event-store', version: sqliteEventStoreMigrations.length },
      { component: 'snapshots', version: 2 },
    ]);
  });

  it('opens on a better-sqlite3 database as well as on the event store', async () => {
    await SqliteSnapshotStore.open(events).save('order-1', snap(3));
    const raw = new Database(file);
    try {
      expect(await SqliteSnapshotStore.open(raw).load('order-1', 'v1')).toMatchObject({
        revision: 3,
      });
    } finally {
      raw.close();
    }
  });

  it('fails with StoreClosedError once the event store is closed', async () => {
    const snapshots = SqliteSnapshotStore.open(events);
    await events.close();
    await expect(snapshots.load('order-1', 'v1')).rejects.toBeInstanceOf(StoreClosedError);
    await expect(snapshots.save('order-1', snap(1))).rejects.toBeInstanceOf(StoreClosedError);
    await expect(snapshots.delete('order-1')).rejects.toBeInstanceOf(StoreClosedError);
    expect(() => SqliteSnapshotStore.open(events)).toThrow(StoreClosedError);
  });

  it('refuses a snapshot table migrated by a newer version', () => {
    SqliteSnapshotStore.open(events);
    events.database
      .prepare("UPDATE causeway_schema_version SET version = 7 WHERE component = 'snapshots'")
      .run();
    expect(() => SqliteSnapshotStore.open(events)).toThrow(SchemaTooNewError);
  });

  it('lets a command handler load the snapshot and read only the tail', async () => {
    const options = {
      store: events,
      decider: orderDecider,
      snapshots: {
        store: SqliteSnapshotStore.open(events),
        stateVersion: 'order@1',
        policy: everyNEvents(10),
      },
    };
    const handler = new CommandHandler(options);
    const place: OrderCommand = {
      type: 'order.place',
      data: { customerId: 'c-1', lines: [{ sku: 'tea', quantity: 1, unitPrice: 100 }] },
    };
    await handler.handle('order-1', place);
    for (let i = 0; i < 24; i++) {
      await handler.handle('order-1', {
        type: 'order.add-line',
        data: { sku: `s-${i}`, quantity: 1, unitPrice: 1 },
      });
    }
    // Another process on the same file: a fresh connection and a fresh handler.
    const other = SqliteEventStore.open(file);
    try {
      const loaded = await new CommandHandler({
        ...options,
        store: other,
        snapshots: { ...options.snapshots, store: SqliteSnapshotStore.open(other) },
      }).load('order-1');
      expect(loaded).toMatchObject({ revision: 24, snapshotRevision: 19, eventsRead: 5 });
      expect(loaded.state.lines).toHaveLength(25);
    } finally {
      await other.close();
    }
  });
});
