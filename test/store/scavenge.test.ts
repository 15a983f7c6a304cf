import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { escapeIdentifier } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  ForwardingEventStore,
  MemoryEventStore,
  ScavengeUnsupportedError,
  collect,
  isScavengeable,
  openBackend,
  storeStack,
  withMembers,
  type AppendResult,
  type Backend,
  type EventStore,
  type ScavengeOptions,
  type ScavengeReport,
  type StoreTransaction,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { backendTargets, type FreshDatabase } from '../conformance/backend-targets.js';
import { pgExec } from '../support/postgres.js';

/** Rows of `stream` in the events table, counted by SQL on the database itself. */
async function storedRows(kind: string, url: string, stream: string): Promise<number> {
  if (kind === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      const row = db
        .prepare<[string], { n: number }>(
          'SELECT count(*) AS n FROM causeway_events WHERE stream = ?',
        )
        .get(stream);
      return row?.n ?? -1;
    } finally {
      db.close();
    }
  }
  const schema = new URL(url).searchParams.get('schema') ?? 'public';
  const [row] = (await pgExec(
    `SELECT count(*)::int AS n FROM ${escapeIdentifier(schema)}.causeway_events WHERE stream = $1`,
    [stream],
  )) as { n: number }[];
  return row?.n ?? -1;
}

for (const [kind, target] of Object.entries(backendTargets)) {
  const unavailable = await target.unavailable();
  describe.skipIf(unavailable !== undefined)(`scavenge on the ${kind} backend`, () => {
    let db: FreshDatabase;
    let backend: Backend;
    beforeEach(async () => {
      db = target.fresh();
      backend = await openBackend(db.url, { maxConnections: 4 });
    });
    afterEach(async () => {
      await backend.close();
      await db.cleanup();
    });

    it('loses no concurrent append and keeps position order', async () => {
      const store = backend.store;
      await store.append(
        'old-1',
        Array.from({ length: 40 }, (_, i) => ({ type: 'e', data: { i } })),
      );
      await store.deleteStream('old-1', { hard: true });
      const appended: Promise<AppendResult>[] = [];
      let n = 0;
      const append = () => {
        n += 1;
        appended.push(store.append(`live-${n % 3}`, [{ type: 'e', data: { n } }]));
      };
      // Appends go in between batches (from the progress callback) and alongside the run.
      const report = await Promise.all([
        backend.scavenge({ batchSize: 3, onProgress: () => append() }),
        (async () => {
          for (let i = 0; i < 10; i++) {
            append();
            await appended[appended.length - 1];
          }
        })(),
      ]).then(([r]) => r);
      const results = await Promise.all(appended);
      expect(report.eventsRemoved).toBe(40);
      expect(report.batches).toBe(14);
      expect(results).toHaveLength(24);
      const log = await collect(store.readAll());
      const positions = log.map((e) => e.position);
      // Every acknowledged append is there, once, in strictly increasing position order.
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(new Set(positions).size).toBe(positions.length);
      expect(positions.sort((a, b) => a - b)).toEqual(
        results.map((r) => r.position).sort((a, b) => a - b),
      );
      expect(Math.min(...positions)).toBeGreaterThan(40);
    });

    it.skipIf(kind === 'memory')('leaves none of the removed rows in the database', async () => {
      const store = backend.store;
      await store.append('gone-1', [
        { type: 'e', data: { secret: 'x' } },
        { type: 'e', data: {} },
      ]);
      await store.append('trim-1', [
        { type: 'e', data: {} },
        { type: 'e', data: {} },
      ]);
      await store.setStreamMetadata('trim-1', { maxCount: 1 });
      await store.deleteStream('gone-1', { hard: true });
      expect(await storedRows(kind, db.url, 'gone-1')).toBe(2);
      const report = await backend.scavenge();
      expect(report).toMatchObject({ eventsRemoved: 3, streamsEmptied: 1, snapshotsCleared: 1 });
      expect(await storedRows(kind, db.url, 'gone-1')).toBe(0);
      expect(await storedRows(kind, db.url, 'trim-1')).toBe(1);
    });

    it("drops the snapshots of tombstoned streams it emptied, and keeps the others'", async () => {
      const store = backend.store;
      const snapshots = await backend.snapshotStore();
      await store.append('snap-gone', [{ type: 'e', data: {} }]);
      await store.append('snap-trim', [
        { type: 'e', data: {} },
        { type: 'e', data: {} },
      ]);
      const snapshot = { revision: 0, stateVersion: 's@1', state: { n: 1 }, takenAt: new Date() };
      await snapshots.save('snap-gone', snapshot);
      await snapshots.save('snap-trim', snapshot);
      await store.deleteStream('snap-gone', { hard: true });
      await store.setStreamMetadata('snap-trim', { truncateBefore: 1 });
      expect(await backend.scavenge({ dryRun: true })).not.toHaveProperty('snapshotsCleared');
      expect(await snapshots.load('snap-gone', 's@1')).toBeDefined();
      expect((await backend.scavenge()).snapshotsCleared).toBe(1);
      expect(await snapshots.load('snap-gone', 's@1')).toBeUndefined();
      expect(await snapshots.load('snap-trim', 's@1')).toBeDefined();
    });

    it('goes through the decorators of a stacked view, which can take part', async () => {
      const calls: string[] = [];
      class Recording<Tx extends StoreTransaction> extends ForwardingEventStore<Tx> {
        constructor(inner: TransactionalEventStore<Tx>) {
          super(inner);
        }
        override async scavenge(options?: ScavengeOptions): Promise<ScavengeReport> {
          calls.push('before');
          const report = await super.scavenge({
            ...options,
            onProgress: (p) => calls.push(`batch ${p.streams.join(',')}`),
          });
          calls.push('after');
          return report;
        }
      }
      const stacked = await storeStack(new Recording(backend.store), { integrity: true });
      const view = backend.withStore(stacked);
      await view.store.append('chained-1', [
        { type: 'e', data: {} },
        { type: 'e', data: {} },
      ]);
      await view.store.deleteStream('chained-1', { hard: true });
      expect(isScavengeable(view.store)).toBe(true);
      expect((await view.scavenge()).eventsRemoved).toBe(2);
      expect(calls).toEqual(['before', 'batch chained-1', 'after']);
    });

    it('stops between batches once its signal is aborted, and goes on when run again', async () => {
      const store = backend.store;
      await store.append(
        'long-1',
        Array.from({ length: 10 }, (_, i) => ({ type: 'e', data: { i } })),
      );
      await store.setStreamMetadata('long-1', { truncateBefore: 10 });
      const controller = new AbortController();
      const first = await backend.scavenge({
        batchSize: 2,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.batch === 2) controller.abort();
        },
      });
      expect(first).toMatchObject({ eventsRemoved: 4, batches: 2, interrupted: true });
      expect(await backend.scavenge({ batchSize: 2 })).toMatchObject({ eventsRemoved: 6 });
    });
  });
}

describe('scavenging without the capability', () => {
  it('a decorator over a store that cannot scavenge refuses with SCAVENGE_UNSUPPORTED', async () => {
    const memory = new MemoryEventStore();
    // A store of a third party: everything but scavenge.
    const plain = withMembers(memory, {
      scavenge: undefined,
    }) as TransactionalEventStore;
    const stacked = await storeStack(plain, { integrity: true });
    expect(isScavengeable(plain as EventStore)).toBe(false);
    expect(isScavengeable(stacked)).toBe(false);
    const error = await (stacked as unknown as ForwardingEventStore)
      .scavenge()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScavengeUnsupportedError);
    expect((error as ScavengeUnsupportedError).code).toBe('SCAVENGE_UNSUPPORTED');
    expect(ErrorCode).not.toHaveProperty('SCAVENGE_UNSUPPORTED');
    await memory.close();
  });
});

describe('scavenging a SQLite file', () => {
  it('leaves no copy of removed content in the database file or its WAL, and keeps the head across reopen', async () => {
    const target = backendTargets.sqlite;
    if (!target) throw new Error('no sqlite target');
    const db = target.fresh();
    const path = db.url.slice('sqlite:'.length);
    const marker = 'scavenged-secret-7f3a9c';
    const fileText = () =>
      [path, `${path}-wal`]
        .map((file) => {
          try {
            return readFileSync(file).toString('latin1');
          } catch {
            return '';
          }
        })
        .join('');
    let backend = await openBackend(db.url);
    try {
      await backend.store.append('keep-1', [{ type: 'e', data: {} }]);
      await backend.store.append('secret-1', [{ type: 'e', data: { note: marker.repeat(50) } }]);
      await backend.store.deleteStream('secret-1', { hard: true });
      expect(fileText()).toContain(marker);
      // Without vacuum: secure_delete zeroes the freed content, the WAL is truncated.
      const report = await backend.scavenge();
      expect(report.eventsRemoved).toBe(1);
      expect(report.fileBytesFreed).toBeUndefined();
      expect(fileText()).not.toContain(marker);
      await backend.close();
      // The removed event was the newest: its position stays taken after a reopen.
      backend = await openBackend(db.url);
      expect(await backend.store.headPosition()).toBe(2);
      expect((await backend.store.append('keep-1', [{ type: 'e', data: {} }])).position).toBe(3);
      // With vacuum the file shrinks by what was freed.
      const big = 'x'.repeat(4000);
      await backend.store.append(
        'big-1',
        Array.from({ length: 100 }, () => ({ type: 'e', data: { big } })),
      );
      await backend.store.deleteStream('big-1', { hard: true });
      const vacuumed = await backend.scavenge({ vacuum: true });
      expect(vacuumed.eventsRemoved).toBe(100);
      expect(vacuumed.fileBytesFreed).toBeGreaterThan(100 * 4000 * 0.9);
    } finally {
      await backend.close();
      await db.cleanup();
    }
  });
});
