import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ManualClock,
  SagaEngine,
  collect,
  defineSaga,
  type RecordedEvent,
  type SagaHistoryEntry,
  type SagaStore,
  type TransactionalEventStore,
} from '@causewayjs/core';
import {
  SQLITE_SAGAS_COMPONENT,
  SqliteEventStore,
  migrateSqlite,
  sqliteSagaMigrations,
  sqliteSagaStore,
} from '@causewayjs/sqlite';
import {
  POSTGRES_SAGAS_COMPONENT,
  PostgresEventStore,
  migratePostgres,
  postgresSagaMigrations,
  postgresSagaStore,
} from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

/**
 * Version 2 of the saga tables moves each instance's history out of its body into a column
 * that steps append to, and tells duplicates by log position. A version 1 instance must come
 * through whole: the same history, in order, and the events it received still recognised as
 * duplicates when they are delivered again.
 */

const counting = defineSaga<{ seen: number }>({
  name: 'counting',
  startsWith: ['counted.started'],
  handles: ['counted.seen'],
  initialStep: 'counting',
  correlate: (event) => (event.data as { key: string }).key,
  start: () => ({ state: { seen: 0 } }),
  on: (_event, { state }) => ({ state: { seen: state.seen + 1 } }),
});

/** A version 1 row's history: what the engine wrote into the body. */
function historyOf(events: readonly RecordedEvent[]): SagaHistoryEntry[] {
  return [
    ...events.map((e, i) => ({
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      kind: 'received' as const,
      type: e.type,
      id: e.id,
      step: 'counting',
    })),
    // Text the column's line format must keep as data.
    {
      at: '2026-01-01T00:01:00.000Z',
      kind: 'sent',
      type: 'note.write',
      id: '0193f0a0-0000-7000-8000-0000000000aa',
      step: 'counting',
      detail: { data: { text: 'line one\nline two ],[ "quoted"', emoji: '\u{1F600}' } },
    },
    // A received id no longer in the log (scavenged): it gives no position.
    {
      at: '2026-01-01T00:02:00.000Z',
      kind: 'received',
      type: 'counted.seen',
      id: '0193f0a0-0000-7000-8000-0000000000bb',
      step: 'counting',
    },
  ];
}

interface Adapter {
  store: TransactionalEventStore;
  /** Migrates the saga tables to version 1 only. */
  migrateToVersion1(): Promise<void>;
  /**
   * Writes instance `id` of saga `counting` as version 1 code writes it: the columns it knows,
   * `body` holding the history.
   */
  writeVersion1Row(id: string, body: string): Promise<void>;
  /** The saga store, migrating to the current version. */
  sagaStore(): Promise<SagaStore>;
  close(): Promise<void>;
}

function describeMigration(name: string, skip: boolean, open: () => Promise<Adapter>): void {
  describe.skipIf(skip)(`saga tables version 1 to 2 (${name})`, () => {
    let adapter: Adapter | undefined;
    afterEach(async () => {
      await adapter?.close();
      adapter = undefined;
    });

    it('keeps the history whole and in order, and still knows the events received', async () => {
      adapter = await open();
      const { store } = adapter;
      const at = (type: string) => ({ type, data: { key: 'k1' } });
      await store.append('count-k1', [at('counted.started')]);
      await store.append('other', [{ type: 'unrelated', data: {} }]);
      await store.append('count-k1', [at('counted.seen'), at('counted.seen')]);
      const log: RecordedEvent[] = [];
      for await (const e of store.readAll()) log.push(e);
      const received = log.filter((e) => e.type !== 'unrelated');
      const last = received[received.length - 1];
      if (!last) throw new Error('nothing was appended');
      const history = historyOf(received);
      await adapter.migrateToVersion1();
      await adapter.writeVersion1Row(
        'k1',
        JSON.stringify(
          {
            state: { seen: 2 },
            trail: ['counting'],
            history,
            pendingCompensations: 0,
            failedCompensations: 0,
          },
          // Laid out on several lines: line feeds between JSON tokens are whitespace, and must
          // not split an entry of the history column.
          null,
          2,
        ),
      );

      const sagas = await adapter.sagaStore();
      const view = await sagas.getInstance('counting', 'k1');
      expect(view?.history).toEqual(history);
      expect(view?.state).toEqual({ seen: 2 });
      const record = await sagas.loadInstance('counting', 'k1');
      expect(record).toMatchObject({
        trail: ['counting'],
        lastPosition: last.position,
        newHistory: [],
        pendingCompensations: 0,
      });

      // A redelivery of the last event received is a duplicate; a new event counts.
      const engine = new SagaEngine(sagas, [counting], new ManualClock(Date.UTC(2026, 1)));
      await store.transaction((tx) => engine.handleEvent(counting as never, last, tx));
      const { position } = await store.append('count-k1', [at('counted.seen')]);
      const fresh = await lastEvent(store);
      expect(fresh.position).toBe(position);
      await store.transaction((tx) => engine.handleEvent(counting as never, fresh, tx));
      const after = await sagas.getInstance('counting', 'k1');
      expect(after?.state).toEqual({ seen: 3 });
      expect(after?.history.slice(0, history.length)).toEqual(history);
      expect(after?.history.slice(history.length).map((h) => [h.id, h.detail])).toEqual([
        [last.id, { outcome: 'duplicate' }],
        [fresh.id, undefined],
      ]);
      expect(engine.stats.duplicates).toBe(1);
    });

    it('keeps a state left out of the body left out', async () => {
      adapter = await open();
      await adapter.migrateToVersion1();
      const body = { trail: ['counting'], history: [], pendingCompensations: 0 };
      await adapter.writeVersion1Row('k2', JSON.stringify({ ...body, failedCompensations: 0 }));
      const sagas = await adapter.sagaStore();
      const record = await sagas.loadInstance('counting', 'k2');
      expect(record && 'state' in record && record.state !== undefined).toBe(false);
      expect(record).toMatchObject({ trail: ['counting'], lastPosition: 0, newHistory: [] });
    });

    it('reads and carries on an instance an older process wrote after the migration', async () => {
      adapter = await open();
      const { store } = adapter;
      const sagas = await adapter.sagaStore();
      const at = (type: string) => ({ type, data: { key: 'k3' } });
      await store.append('count-k3', [at('counted.started'), at('counted.seen')]);
      const [started, seen] = await collect(store.readAll());
      const history = historyOf([started!, seen!]).slice(0, 2);
      // Written as version 1 code writes it: the history in the body, none in its column.
      await adapter.writeVersion1Row(
        'k3',
        JSON.stringify({
          state: { seen: 1 },
          trail: ['counting'],
          history,
          pendingCompensations: 0,
          failedCompensations: 0,
        }),
      );
      expect((await sagas.getInstance('counting', 'k3'))?.history).toEqual(history);

      const engine = new SagaEngine(sagas, [counting], new ManualClock(Date.UTC(2026, 1)));
      await store.transaction((tx) => engine.handleEvent(counting as never, seen!, tx));
      const { position } = await store.append('count-k3', [at('counted.seen')]);
      const fresh = await lastEvent(store);
      expect(fresh.position).toBe(position);
      await store.transaction((tx) => engine.handleEvent(counting as never, fresh, tx));
      await store.transaction((tx) => engine.handleEvent(counting as never, fresh, tx));

      const after = await sagas.getInstance('counting', 'k3');
      expect(after?.state).toEqual({ seen: 2 });
      expect(after?.history.slice(0, 2)).toEqual(history);
      expect(after?.history.slice(2).map((h) => [h.id, h.detail])).toEqual([
        [seen?.id, { outcome: 'duplicate' }],
        [fresh.id, undefined],
        [fresh.id, { outcome: 'duplicate' }],
      ]);
    });
  });
}

async function lastEvent(store: TransactionalEventStore): Promise<RecordedEvent> {
  for await (const e of store.readAll({ direction: 'backward', limit: 1 })) return e;
  throw new Error('the log is empty');
}

describeMigration('sqlite', false, () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-saga-v1-'));
  const store = SqliteEventStore.open(join(dir, 'events.db'));
  return Promise.resolve({
    store,
    migrateToVersion1: () =>
      store.transaction((tx) => {
        migrateSqlite(tx.database, SQLITE_SAGAS_COMPONENT, sqliteSagaMigrations.slice(0, 1));
        return Promise.resolve();
      }),
    writeVersion1Row: (id, body) =>
      store.transaction((tx) => {
        tx.database
          .prepare(
            `INSERT INTO causeway_saga_instances (saga, id, status, step, body, started_at, updated_at)
             VALUES ('counting', ?, 'running', 'counting', ?, 0, 0)`,
          )
          .run(id, body);
        return Promise.resolve();
      }),
    sagaStore: () => sqliteSagaStore(store),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});

const pgUp = await pgAvailable();
describeMigration('postgres', !pgUp, async () => {
  const schema = randomSchemaName();
  const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 2 });
  return {
    store,
    async migrateToVersion1() {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        await migratePostgres(
          client,
          schema,
          POSTGRES_SAGAS_COMPONENT,
          postgresSagaMigrations(schema).slice(0, 1),
        );
      } finally {
        await client.end();
      }
    },
    async writeVersion1Row(id, body) {
      await pgExec(
        `INSERT INTO ${pg.escapeIdentifier(schema)}.causeway_saga_instances
           (saga, id, status, step, body, started_at, updated_at)
         VALUES ('counting', $1, 'running', 'counting', $2, 0, 0)`,
        [id, body],
      );
    },
    sagaStore: () => postgresSagaStore(store),
    async close() {
      await store.close();
      await dropSchema(schema);
    },
  };
});
