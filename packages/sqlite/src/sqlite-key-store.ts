import type Database from 'better-sqlite3';
import {
  InvalidArgumentError,
  StoreClosedError,
  type DataKeyEntry,
  type DataKeyStore,
  type KeyCheck,
  type ListDataKeysOptions,
  type StoredDataKey,
} from '@causewayjs/core';
import { assertKey, assertSubject, type Migration } from '@causewayjs/core/internals';
import { SqliteEventStore } from './sqlite-event-store.js';
import { openSqliteComponent, type SqliteComponentConnection } from './sqlite-component.js';

/** The name under which the key tables record their schema version. */
const COMPONENT = 'data-keys';

/**
 * The key tables, version by version. Never edit a published step: add one.
 *
 * A forgotten subject keeps a row with no key material (`wrapped_key` NULL): the tombstone
 * that stops a new key being made for it.
 */
const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'data keys and master key checks',
    statements: [
      `CREATE TABLE causeway_data_keys (
         subject TEXT PRIMARY KEY,
         master_key_id TEXT,
         wrapped_key BLOB,
         created_at INTEGER NOT NULL,
         forgotten_at INTEGER
       ) WITHOUT ROWID`,
      `CREATE TABLE causeway_key_checks (
         master_key_id TEXT PRIMARY KEY,
         check_value BLOB NOT NULL,
         created_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
    ],
  },
];

type Row = {
  subject: string;
  master_key_id: string | null;
  wrapped_key: Buffer | null;
  created_at: number;
  forgotten_at: number | null;
};

const GET_KEY = 'SELECT * FROM causeway_data_keys WHERE subject = ?';
const INSERT_KEY = `INSERT INTO causeway_data_keys (subject, master_key_id, wrapped_key, created_at)
  VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO NOTHING`;

/**
 * Data keys in the event store's SQLite file (`causeway_data_keys`, `causeway_key_checks`,
 * migrated as the `data-keys` component), so they are backed up with the events. Keys are
 * stored wrapped by the master key; forgetting overwrites the key with zeros, then clears it.
 * Old page images may linger in the WAL or free pages until a checkpoint or `VACUUM`; they
 * hold the key only wrapped, so rotating the master key makes them useless.
 *
 * @example
 * ```ts
 * const raw = SqliteEventStore.open('./data/events.db');
 * const store = await encryptedEventStore(raw, { keyStore: SqliteKeyStore.open(raw), masterKey, personal });
 * ```
 */
export class SqliteKeyStore implements DataKeyStore {
  private readonly statements;

  private readonly database: Database.Database;

  private constructor(
    /** Where every statement runs, its driver failures typed. */
    private readonly connection: SqliteComponentConnection,
    /** The connection of a transaction of the event store the caller runs inside of. */
    private readonly joined: () => Database.Database | undefined,
  ) {
    const d = (this.database = connection.database);
    this.statements = {
      get: d.prepare<[string], Row>(GET_KEY),
      insert: d.prepare<[string, string, Buffer, number]>(INSERT_KEY),
      shred: d.prepare<[string]>(
        `UPDATE causeway_data_keys SET wrapped_key = zeroblob(length(wrapped_key))
         WHERE subject = ? AND wrapped_key IS NOT NULL`,
      ),
      forget: d.prepare<[string, number, number]>(
        `INSERT INTO causeway_data_keys (subject, master_key_id, wrapped_key, created_at, forgotten_at)
         VALUES (?, NULL, NULL, ?, ?)
         ON CONFLICT (subject) DO UPDATE SET master_key_id = NULL, wrapped_key = NULL,
           forgotten_at = coalesce(causeway_data_keys.forgotten_at, excluded.forgotten_at)`,
      ),
      rewrap: d.prepare<[string, Buffer, string, string]>(
        `UPDATE causeway_data_keys SET master_key_id = ?, wrapped_key = ?
         WHERE subject = ? AND master_key_id = ? AND wrapped_key IS NOT NULL`,
      ),
      list: d.prepare<[string, string, number], Row>(
        `SELECT * FROM causeway_data_keys
         WHERE wrapped_key IS NOT NULL AND subject > ? AND master_key_id <> ?
         ORDER BY subject LIMIT ?`,
      ),
      checks: d.prepare<[], { master_key_id: string; check_value: Buffer }>(
        'SELECT master_key_id, check_value FROM causeway_key_checks ORDER BY master_key_id',
      ),
      addCheck: d.prepare<[string, Buffer, number]>(
        `INSERT INTO causeway_key_checks (master_key_id, check_value, created_at) VALUES (?, ?, ?)
         ON CONFLICT (master_key_id) DO NOTHING`,
      ),
      removeCheck: d.prepare<[string]>('DELETE FROM causeway_key_checks WHERE master_key_id = ?'),
    };
  }

  /**
   * A key store in the same file as `source`, an open {@link SqliteEventStore} or its
   * `database`. Creates or migrates the key tables. Closing the event store closes this too.
   *
   * @throws {SchemaTooNewError} when a newer Causeway migrated the key tables.
   */
  static open(source: SqliteEventStore | Database.Database): SqliteKeyStore {
    return openSqliteComponent(
      source,
      { component: COMPONENT, migrations },
      (connection) =>
        new SqliteKeyStore(
          connection,
          source instanceof SqliteEventStore ? () => source.transactionDatabase() : () => undefined,
        ),
    );
  }

  get(subject: string): Promise<DataKeyEntry | undefined> {
    return this.read(() => {
      assertSubject(subject);
      return toEntry(this.statements.get.get(subject));
    });
  }

  create(key: StoredDataKey): Promise<DataKeyEntry> {
    // Made while encrypting what a transaction appends: the key joins the transaction (waiting
    // for the write lock, which the transaction holds, would wait forever), so it commits
    // with the events it encrypts, or is gone with them.
    const joined = this.joined();
    if (joined)
      return this.read(() => {
        assertKey(key);
        joined
          .prepare<[string, string, Buffer, number]>(INSERT_KEY)
          .run(key.subject, key.masterKeyId, Buffer.from(key.wrappedKey), key.createdAt.getTime());
        return toEntry(joined.prepare<[string], Row>(GET_KEY).get(key.subject)) as DataKeyEntry;
      });
    return this.write(() => {
      assertKey(key);
      this.assertOpen();
      this.statements.insert.run(
        key.subject,
        key.masterKeyId,
        Buffer.from(key.wrappedKey),
        key.createdAt.getTime(),
      );
      return toEntry(this.statements.get.get(key.subject)) as DataKeyEntry;
    });
  }

  forget(subject: string, at: Date): Promise<boolean> {
    return this.write(() => {
      assertSubject(subject);
      this.assertOpen();
      return this.database.transaction(() => {
        const destroyed = this.statements.shred.run(subject).changes > 0;
        this.statements.forget.run(subject, at.getTime(), at.getTime());
        return destroyed;
      })();
    });
  }

  rewrap(
    subject: string,
    fromMasterKeyId: string,
    wrappedKey: Uint8Array,
    masterKeyId: string,
  ): Promise<boolean> {
    return this.write(() => {
      assertSubject(subject);
      this.assertOpen();
      return (
        this.statements.rewrap.run(masterKeyId, Buffer.from(wrappedKey), subject, fromMasterKeyId)
          .changes > 0
      );
    });
  }

  list(options: ListDataKeysOptions = {}): Promise<StoredDataKey[]> {
    return this.read(() => {
      const limit = options.limit ?? 1000;
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new InvalidArgumentError('limit', 'must be an integer >= 1');
      // '' sorts before every subject; '\u0000' is never a master key id.
      return this.statements.list
        .all(options.after ?? '', options.excludeMasterKeyId ?? '\u0000', limit)
        .map((row) => {
          const entry = toEntry(row);
          if (entry?.state !== 'active') throw new Error('internal: listed a forgotten key');
          const { state: _state, ...key } = entry;
          return key;
        });
    });
  }

  keyChecks(): Promise<KeyCheck[]> {
    return this.read(() =>
      this.statements.checks
        .all()
        .map((r) => ({ masterKeyId: r.master_key_id, value: r.check_value })),
    );
  }

  addKeyCheck(check: KeyCheck): Promise<void> {
    return this.write(() => {
      this.assertOpen();
      this.statements.addCheck.run(check.masterKeyId, Buffer.from(check.value), Date.now());
    });
  }

  removeKeyCheck(masterKeyId: string): Promise<void> {
    return this.write(() => {
      this.assertOpen();
      this.statements.removeCheck.run(masterKeyId);
    });
  }

  /** Holds nothing of its own: the database closes with the event store. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private read<T>(work: () => T): Promise<T> {
    return this.connection.read(() => {
      this.assertOpen();
      return work();
    });
  }

  private write<T>(work: () => T): Promise<T> {
    return this.connection.write(work);
  }

  private assertOpen(): void {
    if (!this.database.open) throw new StoreClosedError();
  }
}

function toEntry(row: Row | undefined): DataKeyEntry | undefined {
  if (!row) return undefined;
  if (row.wrapped_key === null || row.master_key_id === null)
    return {
      state: 'forgotten',
      subject: row.subject,
      forgottenAt: new Date(row.forgotten_at ?? row.created_at),
    };
  return {
    state: 'active',
    subject: row.subject,
    masterKeyId: row.master_key_id,
    wrappedKey: row.wrapped_key,
    createdAt: new Date(row.created_at),
  };
}
