import { Client, escapeIdentifier } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresEventStore, type PostgresEventStoreOptions } from '@causewayjs/postgres';
import { collect, newId, type AppendResult, type RecordedEvent } from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgUrl,
  randomSchemaName,
  waitForLockWait,
} from './support/postgres.js';

const available = await pgAvailable();

/** A small seeded PRNG (mulberry32): a failing run prints its seed, to reuse its random choices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What `beforeCommit` throws to roll a batch back on purpose. */
class RolledBack extends Error {}

describe.skipIf(!available)('PostgreSQL global order', () => {
  let schema: string;
  const opened: PostgresEventStore[] = [];
  const open = async (options: PostgresEventStoreOptions = {}) => {
    const store = await PostgresEventStore.open(pgUrl, { maxConnections: 2, ...options, schema });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    schema = randomSchemaName();
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await dropSchema(schema);
  });

  it('a tailing reader never skips a position, whatever order concurrent writers commit in', async () => {
    const seed = Number(process.env.CAUSEWAY_ORDER_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const note = `seed ${seed} (CAUSEWAY_ORDER_SEED=${seed} reuses it)`;
    const random = prng(seed);
    const WRITERS = 8;
    const LANES = 3; // concurrent callers per writer, so its appends form batches
    const APPENDS_PER_LANE = 80; // 240 appends per writer, 1920 in all
    const STREAMS = 24; // shared by every writer: streams are created and extended in races

    const reader = await open();
    const writers = await Promise.all(
      Array.from({ length: WRITERS }, () =>
        open({
          hooks: {
            // Runs with positions allocated and not yet committed: a random delay there is
            // what would let a later position commit first if the store allowed it.
            beforeCommit: async () => {
              await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 16)));
              if (random() < 0.1) throw new RolledBack('rolled back on purpose');
            },
          },
        }),
      ),
    );

    const acked = new Map<string, AppendResult>(); // event id → result of its append
    const ackedLast = new Map<string, string>(); // last event id of an append → its stream
    const rolledBack = new Set<string>();
    const unexpected: unknown[] = [];
    let writing = true;

    const lane = async (store: PostgresEventStore) => {
      for (let i = 0; i < APPENDS_PER_LANE; i++) {
        const stream = `order-${Math.floor(random() * STREAMS)}`;
        const count = 1 + Math.floor(random() * 3);
        const ids = Array.from({ length: count }, () => newId());
        try {
          const result = await store.append(
            stream,
            ids.map((id) => ({ id, type: 'order.noted', data: { i } })),
          );
          for (const id of ids) acked.set(id, result);
          ackedLast.set(ids[count - 1] ?? '', stream);
        } catch (error) {
          if (error instanceof RolledBack) for (const id of ids) rolledBack.add(id);
          else unexpected.push(error);
        }
      }
    };
    const writing$ = Promise.all(
      writers.flatMap((w) => Array.from({ length: LANES }, () => lane(w))),
    ).finally(() => (writing = false));

    const seen: RecordedEvent[] = [];
    const skips: string[] = [];
    let last = 0;
    let polls = 0;
    let fruitfulPolls = 0;
    for (;;) {
      const finished = !writing; // read before polling: if done already, this poll sees all
      polls += 1;
      let got = 0;
      for await (const e of reader.readAll({ from: last + 1 })) {
        if (e.position !== last + 1) skips.push(`after ${last} came ${e.position}`);
        last = e.position;
        seen.push(e);
        got += 1;
      }
      if (got > 0) fruitfulPolls += 1;
      if (finished && got === 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writing$;

    expect(unexpected, note).toEqual([]);
    expect(skips, note).toEqual([]);
    // The run really exercised what it claims to: rollbacks, batches, a reader racing writers.
    expect(rolledBack.size, note).toBeGreaterThan(0);
    expect(fruitfulPolls, note).toBeGreaterThan(10);
    expect(polls, note).toBeGreaterThan(fruitfulPolls);

    const head = await reader.headPosition();
    expect(seen.map((e) => e.position)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    const seenIds = seen.map((e) => e.id);
    expect(new Set(seenIds).size, 'each event seen exactly once').toBe(seenIds.length);
    expect(new Set(seenIds), note).toEqual(new Set(acked.keys()));
    for (const id of seenIds) expect(rolledBack.has(id)).toBe(false);
    // Each acknowledged append's result names where its last event really is.
    const byId = new Map(seen.map((e) => [e.id, e]));
    for (const [id, stream] of ackedLast) {
      const e = byId.get(id);
      expect(e && { stream: e.stream, revision: e.revision, position: e.position }).toEqual(
        acked.get(id),
      );
      expect(e?.stream).toBe(stream);
    }
    // Revisions are gapless per stream too, in position order.
    const revisions = new Map<string, number>();
    for (const e of seen) {
      expect(e.revision, `${e.stream} at ${e.position}`).toBe((revisions.get(e.stream) ?? -1) + 1);
      revisions.set(e.stream, e.revision);
    }
    expect(await collect(reader.readAll())).toEqual(seen);
  });

  it('a second writer cannot commit while an earlier position is pending', async () => {
    let reachedHook!: () => void;
    const atHook = new Promise<void>((resolve) => (reachedHook = resolve));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const first = await open({
      hooks: {
        beforeCommit: async () => {
          reachedHook();
          await gate;
        },
      },
    });
    const second = await open();
    const reader = await open();

    const one = first.append('a-1', [{ type: 'a', data: 1 }]);
    const two = (async () => {
      await atHook; // position 1 is allocated and not committed
      return second.append('b-1', [{ type: 'b', data: 2 }]);
    })();
    try {
      await atHook;
      await waitForLockWait(schema); // the second writer is blocked, not merely slow
      expect(await collect(reader.readAll())).toEqual([]);
      expect(await reader.headPosition()).toBe(0);
    } finally {
      openGate(); // also on failure, so the stores can close
    }
    expect(await one).toEqual({ stream: 'a-1', revision: 0, position: 1 });
    expect(await two).toEqual({ stream: 'b-1', revision: 0, position: 2 });
    expect((await collect(reader.readAll())).map((e) => e.stream)).toEqual(['a-1', 'b-1']);
  });

  it('negative control: a plain sequence without the commit-order lock lets a reader skip', async () => {
    // The same schedule as above, done the naive way: positions from a sequence, committed
    // whenever each transaction happens to finish.
    const table = `${escapeIdentifier(schema)}.naive_log`;
    const [a, b, reader] = [new Client(pgUrl), new Client(pgUrl), new Client(pgUrl)];
    await Promise.all([a.connect(), b.connect(), reader.connect()]);
    try {
      await reader.query(`CREATE SCHEMA ${escapeIdentifier(schema)}`);
      await reader.query(
        `CREATE TABLE ${table} (position bigserial PRIMARY KEY, what text NOT NULL)`,
      );
      const poll = async (after: number) =>
        (
          await reader.query<{ position: string }>(
            `SELECT position FROM ${table} WHERE position > $1 ORDER BY position`,
            [after],
          )
        ).rows.map((r) => Number(r.position));

      await a.query('BEGIN');
      await a.query(`INSERT INTO ${table} (what) VALUES ('first')`); // takes position 1
      await b.query(`INSERT INTO ${table} (what) VALUES ('second')`); // takes 2, commits at once
      const firstPoll = await poll(0);
      expect(firstPoll).toEqual([2]);
      await a.query('COMMIT');
      expect(await poll(2)).toEqual([]);
      // Position 1 exists, but a reader tailing from where it got to has passed it for good.
      expect(await poll(0)).toEqual([1, 2]);
    } finally {
      await Promise.all([a.end(), b.end(), reader.end()]);
    }
  });
});
