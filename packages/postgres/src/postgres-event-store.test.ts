import { Client, escapeIdentifier } from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidArgumentError,
  StoreUnavailableError,
  StreamDeletedError,
  WrongExpectedRevisionError,
  newId,
  openEventStore,
  collect,
  type EventStore,
} from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgExec,
  pgUrl,
  randomSchemaName,
  waitForLockWait,
} from '../../../test/support/postgres.js';
import {
  PostgresEventStore,
  splitPostgresUrl,
  type PostgresEventStoreOptions,
} from './postgres-event-store.js';

const available = await pgAvailable();

/** `pgUrl` with extra query parameters. */
const withParams = (params: string) => `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}${params}`;

/** A promise and the function that settles it, to hold a transaction open at a known point. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('splitPostgresUrl', () => {
  it('takes out ?schema= and whatever the driver would not understand', () => {
    expect(
      splitPostgresUrl(
        'postgres://app:pw@db:5432/shop?schema=events&sslmode=require&x=1&application_name=a%20b',
      ),
    ).toEqual({
      connectionString: 'postgres://app:pw@db:5432/shop?sslmode=require&application_name=a+b',
      schema: 'events',
    });
    expect(splitPostgresUrl('postgresql://db/shop?schema=s')).toEqual({
      connectionString: 'postgresql://db/shop',
      schema: 's',
    });
    expect(splitPostgresUrl('postgres://db/shop')).toEqual({
      connectionString: 'postgres://db/shop',
      schema: undefined,
    });
  });
});

describe('PostgresEventStore.open', () => {
  it('reports an unreachable server as StoreUnavailableError with the cause, hiding the password', async () => {
    const error = await PostgresEventStore.open('postgres://someone:secret@127.0.0.1:1/none').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('someone:***@127.0.0.1:1');
    expect((error as Error).message).not.toContain('secret');
  });

  it('rejects bad options before connecting', async () => {
    for (const schema of ['', 'x'.repeat(64), 'nul\u0000name']) {
      await expect(PostgresEventStore.open(pgUrl, { schema })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    for (const maxConnections of [0, 1.5, -1]) {
      await expect(PostgresEventStore.open(pgUrl, { maxConnections })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
  });
});

describe.skipIf(!available)('PostgresEventStore', () => {
  let schema: string;
  const schemas: string[] = [];
  const opened: EventStore[] = [];
  const open = async (options: PostgresEventStoreOptions = {}) => {
    const store = await PostgresEventStore.open(pgUrl, { maxConnections: 2, schema, ...options });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    schema = randomSchemaName();
    schemas.push(schema);
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  it('takes its schema from ?schema= and passes the driver only what it understands', async () => {
    const store = await PostgresEventStore.open(
      withParams(`schema=${schema}&application_name=causeway-test&unknown_thing=1`),
    );
    opened.push(store);
    expect(store.schema).toBe(schema);
    await store.append('u-1', [{ type: 'a', data: 1 }]);
    expect(
      await pgExec(`SELECT count(*)::int AS n FROM ${escapeIdentifier(schema)}.causeway_events`),
    ).toEqual([{ n: 1 }]);
    // The option wins over the URL.
    const other = randomSchemaName();
    schemas.push(other);
    const explicit = await PostgresEventStore.open(withParams(`schema=${schema}`), {
      schema: other,
    });
    opened.push(explicit);
    expect(explicit.schema).toBe(other);
    expect(await explicit.headPosition()).toBe(0);
  });

  it('is what openEventStore opens for postgres:// and postgresql:// URLs', async () => {
    const store = await openEventStore(withParams(`schema=${schema}`));
    opened.push(store);
    expect(store).toBeInstanceOf(PostgresEventStore);
    await store.append('o-1', [{ type: 'a', data: 1 }]);
    const again = await openEventStore(
      withParams(`schema=${schema}`).replace(/^postgres:/, 'postgresql:'),
    );
    opened.push(again);
    expect(await again.headPosition()).toBe(1);
  });

  it('quotes schema names', async () => {
    schema = `Odd "name" ${schema}`;
    schemas.push(schema);
    const store = await open();
    await store.append('q-1', [{ type: 'a', data: 1 }]);
    expect((await collect(store.readAll())).map((e) => e.stream)).toEqual(['q-1']);
  });

  it('keeps JSON text verbatim: key order, and strings jsonb would refuse', async () => {
    const store = await open();
    const data = { z: 1, a: '\u0000', m: { y: [3, 2, 1], b: null } };
    await store.append('j-1', [{ type: 'a', data }]);
    const [row] = (await pgExec(
      `SELECT data::text AS text FROM ${escapeIdentifier(schema)}.causeway_events`,
    )) as { text: string }[];
    expect(row?.text).toBe(JSON.stringify(data));
    const [event] = await collect(store.readStream('j-1'));
    expect(Object.keys(event?.data as object)).toEqual(['z', 'a', 'm']);
  });

  it('a throwing beforeCommit hook rolls the batch back, positions included', async () => {
    const failure = new Error('no commit');
    let fail = true;
    const store = await open({
      hooks: {
        beforeCommit: () => (fail ? Promise.reject(failure) : Promise.resolve()),
      },
    });
    const results = await Promise.allSettled([
      store.append('h-1', [{ type: 'a', data: 1 }]),
      store.append('h-2', [{ type: 'b', data: 2 }]),
    ]);
    expect(results).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    expect(await store.headPosition()).toBe(0);
    expect((await store.streamInfo('h-1')).exists).toBe(false);
    fail = false;
    expect(await store.append('h-1', [{ type: 'a', data: 1 }])).toEqual({
      stream: 'h-1',
      revision: 0,
      position: 1,
    });
  });

  describe('races between processes', () => {
    /**
     * Starts an append on `first` and holds it just before COMMIT, with its stream row and
     * events written; runs `race` against it; then lets it commit.
     */
    async function holdFirst(
      first: (store: EventStore) => Promise<unknown>,
      race: () => Promise<void>,
    ): Promise<unknown> {
      const reached = gate();
      const release = gate();
      const store = await open({
        hooks: {
          beforeCommit: async () => {
            reached.open();
            await release.wait;
          },
        },
      });
      const result = first(store);
      try {
        await reached.wait;
        await race();
      } finally {
        release.open();
      }
      return result;
    }

    it('creating the same stream: the loser re-plans and sees the winner', async () => {
      const second = await open();
      let lost: Promise<unknown> = Promise.resolve();
      let extended: Promise<unknown> = Promise.resolve();
      const won = await holdFirst(
        (s) => s.append('new-1', [{ type: 'a', data: 1 }], { expectedRevision: 'no_stream' }),
        async () => {
          lost = second
            .append('new-1', [{ type: 'b', data: 2 }], { expectedRevision: 'no_stream' })
            .catch((e: unknown) => e);
          await waitForLockWait(schema);
          extended = second.append('new-1', [{ type: 'c', data: 3 }]);
        },
      );
      expect(won).toEqual({ stream: 'new-1', revision: 0, position: 1 });
      const error = await lost;
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ expected: 'no_stream', actual: 0 });
      expect(await extended).toEqual({ stream: 'new-1', revision: 1, position: 2 });
    });

    it('retrying an append while the original is still committing is idempotent', async () => {
      const second = await open();
      const events = [
        { id: newId(), type: 'a', data: 1 },
        { id: newId(), type: 'b', data: 2 },
      ];
      let retried: Promise<unknown> = Promise.resolve();
      const original = await holdFirst(
        (s) => s.append('idem-1', events, { expectedRevision: 'no_stream' }),
        async () => {
          retried = second.append('idem-1', events, { expectedRevision: 'no_stream' });
          await waitForLockWait(schema);
        },
      );
      expect(original).toEqual({ stream: 'idem-1', revision: 1, position: 2 });
      expect(await retried).toEqual(original);
      expect(await second.headPosition()).toBe(2);
    });

    it('a tombstone committed while an append creates the stream wins', async () => {
      const store = await open();
      const blocker = new Client(pgUrl);
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(
          `INSERT INTO ${escapeIdentifier(schema)}.causeway_streams (name, revision, deleted) VALUES ('t-1', -1, 2)`,
        );
        const append = store.append('t-1', [{ type: 'a', data: 1 }]).catch((e: unknown) => e);
        await waitForLockWait(schema);
        await blocker.query('COMMIT');
        expect(await append).toBeInstanceOf(StreamDeletedError);
      } finally {
        await blocker.end();
      }
      expect(await store.headPosition()).toBe(0);
      expect((await store.streamInfo('t-1')).deleted).toBe('hard');
    });

    it('a hard delete waits for an append that is creating the stream', async () => {
      const deleter = await open();
      let deleted: Promise<void> = Promise.resolve();
      const written = await holdFirst(
        (s) => s.append('del-1', [{ type: 'a', data: 1 }]),
        async () => {
          deleted = deleter.deleteStream('del-1', { hard: true, expectedRevision: 0 });
          await waitForLockWait(schema);
        },
      );
      expect(written).toEqual({ stream: 'del-1', revision: 0, position: 1 });
      await deleted;
      expect(await deleter.streamInfo('del-1')).toMatchObject({ deleted: 'hard', revision: 0 });
    });
  });

  describe('NOTIFY, sent only while a store listens', () => {
    const channel = () => `causeway_commits:${schema}`;

    /** A bare LISTEN on the store's channel (holding no listener lock) and what it hears. */
    async function bareListener(): Promise<{ client: Client; heard: string[] }> {
      const client = new Client({ connectionString: pgUrl });
      await client.connect();
      const heard: string[] = [];
      client.on('notification', (message) => heard.push(message.payload ?? ''));
      await client.query(`LISTEN ${escapeIdentifier(channel())}`);
      return { client, heard };
    }

    /**
     * Notifies `marker` from another connection and waits for it: notifications arrive in
     * commit order, so every NOTIFY of a commit made before has arrived by then.
     */
    async function heardUpTo(heard: string[], marker: string): Promise<string[]> {
      await pgExec('SELECT pg_notify($1, $2)', [channel(), marker]);
      await vi.waitFor(() => expect(heard).toContain(marker), { timeout: 10_000 });
      return heard.splice(0);
    }

    /** One append down each write path: one event, several events, the planned batch. */
    async function appendEachWay(store: EventStore, round: number): Promise<number[]> {
      const heads: number[] = [];
      const one = await store.append(`one-${round}`, [{ type: 'a', data: 1 }], {
        expectedRevision: 'no_stream',
      });
      heads.push(one.position);
      const two = await store.append(
        `two-${round}`,
        [
          { type: 'a', data: 1 },
          { type: 'b', data: 2 },
        ],
        { expectedRevision: 'no_stream' },
      );
      heads.push(two.position);
      const any = await store.append(`any-${round}`, [{ type: 'a', data: 1 }]);
      heads.push(any.position);
      return heads;
    }

    it('a store nobody watches commits without NOTIFY; while a store watches, every commit notifies', async () => {
      const writer = await open();
      const { client, heard } = await bareListener();
      try {
        await appendEachWay(writer, 1);
        expect(await heardUpTo(heard, 'mark-1')).toEqual(['mark-1']);

        const watcher = await open();
        const seen: number[] = [];
        const stop = watcher.watch((position) => seen.push(position));
        await vi.waitFor(() => expect(watcher.watchState).toBe('listening'), { timeout: 10_000 });
        const heads = await appendEachWay(writer, 2);
        expect(await heardUpTo(heard, 'mark-2')).toEqual([...heads.map(String), 'mark-2']);
        await vi.waitFor(() => expect(seen).toContain(heads[2]), { timeout: 10_000 });

        stop();
        await vi.waitFor(() => expect(watcher.watchState).toBe('idle'), { timeout: 10_000 });
        await appendEachWay(writer, 3);
        expect(await heardUpTo(heard, 'mark-3')).toEqual(['mark-3']);
      } finally {
        await client.end();
      }
    });

    it('does not pass on the NOTIFY of its own commits, which its watchers already heard of', async () => {
      const store = await open();
      const other = await open();
      const seen: number[] = [];
      const stop = store.watch((position) => seen.push(position));
      // Listening, and the head read made then (nothing yet) reported.
      await vi.waitFor(() => expect(seen).toEqual([0]), { timeout: 10_000 });
      for (let i = 0; i < 3; i++) await store.append(`own-${i}`, [{ type: 'a', data: i }]);
      // Heard through NOTIFY only, which arrives after those of the commits before it.
      await other.append('other', [{ type: 'a', data: 0 }]);
      await vi.waitFor(() => expect(seen).toContain(4), { timeout: 10_000 });
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      stop();
    });

    it('a store that starts listening while an append that sent no NOTIFY commits still hears of it', async () => {
      const reached = gate();
      const release = gate();
      const writer = await open({
        hooks: {
          beforeCommit: async () => {
            reached.open();
            await release.wait;
          },
        },
      });
      const appended = writer.append('late', [{ type: 'a', data: 1 }]);
      await reached.wait;
      const watcher = await open();
      const seen: number[] = [];
      const stop = watcher.watch((position) => seen.push(position));
      // The listener waits for the append to end before it listens and reads the head.
      await waitForLockWait(schema);
      expect(watcher.watchState).toBe('connecting');
      release.open();
      expect(await appended).toMatchObject({ position: 1 });
      await vi.waitFor(() => expect(seen).toContain(1), { timeout: 10_000 });
      stop();
    });
  });
});
