// Encryption on durable stores: keys survive a restart in the same database, and a wrong
// master key at start-up fails fast without writing anything.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresEventStore, PostgresKeyStore } from '@causewayjs/postgres';
import { SqliteEventStore, SqliteKeyStore } from '@causewayjs/sqlite';
import {
  collect,
  encryptedEventStore,
  generateMasterKey,
  REDACTED,
  WrongMasterKeyError,
  type DataKeyStore,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

const master = generateMasterKey('prod-1');
const personal = { 'customer.registered': { subject: '$.id', fields: ['$.email'] } };

interface Opened {
  raw: TransactionalEventStore;
  keys: DataKeyStore;
}

interface Durable {
  open(): Promise<Opened>;
  /** Rows in the event and key tables, read directly from the database. */
  counts(): Promise<{ events: number; keys: number; checks: number }>;
  cleanup(): Promise<void>;
}

const pg = await pgAvailable();

function sqlite(): Durable {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-durable-enc-'));
  const file = join(dir, 'events.db');
  const opened: SqliteEventStore[] = [];
  return {
    open: () => {
      const raw = SqliteEventStore.open(file);
      opened.push(raw);
      return Promise.resolve({ raw, keys: SqliteKeyStore.open(raw) });
    },
    counts: () => {
      const raw = SqliteEventStore.open(file);
      const count = (table: string) =>
        (raw.database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      const result = {
        events: count('causeway_events'),
        keys: count('causeway_data_keys'),
        checks: count('causeway_key_checks'),
      };
      return raw.close().then(() => result);
    },
    cleanup: async () => {
      for (const s of opened) if (!s.isClosed) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgres(): Durable {
  const schema = randomSchemaName();
  const opened: { raw: PostgresEventStore; keys: PostgresKeyStore }[] = [];
  return {
    open: async () => {
      const raw = await PostgresEventStore.open(pgUrl, { schema });
      const keys = await PostgresKeyStore.open(raw);
      opened.push({ raw, keys });
      return { raw, keys };
    },
    counts: async () => {
      const count = async (table: string) =>
        (
          (await pgExec(`SELECT count(*)::int AS n FROM "${schema}".${table}`)) as { n: number }[]
        )[0]?.n ?? -1;
      return {
        events: await count('causeway_events'),
        keys: await count('causeway_data_keys'),
        checks: await count('causeway_key_checks'),
      };
    },
    cleanup: async () => {
      for (const { raw, keys } of opened) {
        await keys.close();
        if (!raw.isClosed) await raw.close();
      }
      await dropSchema(schema);
    },
  };
}

for (const [name, available, make] of [
  ['sqlite', true, sqlite],
  ['postgres', pg, postgres],
] as const) {
  describe.skipIf(!available)(`encryption on ${name}`, () => {
    let durable: Durable | undefined;
    afterEach(async () => {
      await durable?.cleanup();
      durable = undefined;
    });

    it('reads personal fields after a restart, and redacts them after forgetting', async () => {
      durable = make();
      const first = await durable.open();
      const store = await encryptedEventStore(first.raw, {
        keyStore: first.keys,
        masterKey: master,
        personal,
      });
      await store.append('customer-1', [
        { type: 'customer.registered', data: { id: 'c-1', email: 'ada@example.com' } },
      ]);
      await first.raw.close();

      const second = await durable.open();
      const again = await encryptedEventStore(second.raw, {
        keyStore: second.keys,
        masterKey: master,
        personal,
      });
      expect((await collect(again.readStream('customer-1')))[0]?.data).toEqual({
        id: 'c-1',
        email: 'ada@example.com',
      });
      await again.forgetSubject('c-1');
      await second.raw.close();

      const third = await durable.open();
      const after = await encryptedEventStore(third.raw, {
        keyStore: third.keys,
        masterKey: master,
        personal,
      });
      expect((await collect(after.readStream('customer-1')))[0]?.data).toEqual({
        id: 'c-1',
        email: REDACTED,
      });
      expect(JSON.stringify(await collect(third.raw.readAll()))).not.toContain('ada@example.com');
    });

    it('fails fast on a wrong master key at start-up and changes nothing in the database', async () => {
      durable = make();
      const first = await durable.open();
      const store = await encryptedEventStore(first.raw, {
        keyStore: first.keys,
        masterKey: master,
        personal,
      });
      await store.append('customer-1', [
        { type: 'customer.registered', data: { id: 'c-1', email: 'ada@example.com' } },
      ]);
      await first.raw.close();
      const before = await durable.counts();
      expect(before).toEqual({ events: 1, keys: 1, checks: 1 });

      const second = await durable.open();
      const wrong = { id: master.id, key: generateMasterKey('x').key };
      await expect(
        encryptedEventStore(second.raw, { keyStore: second.keys, masterKey: wrong, personal }),
      ).rejects.toBeInstanceOf(WrongMasterKeyError);
      await expect(
        encryptedEventStore(second.raw, {
          keyStore: second.keys,
          masterKey: generateMasterKey('other'),
          personal,
        }),
      ).rejects.toBeInstanceOf(WrongMasterKeyError);
      await second.raw.close();
      expect(await durable.counts()).toEqual(before);
    });
  });
}
