import { escapeIdentifier } from 'pg';
import {
  InvalidArgumentError,
  type DataKeyEntry,
  type DataKeyStore,
  type KeyCheck,
  type ListDataKeysOptions,
  type StoredDataKey,
} from '@causewayjs/core';
import { assertKey, assertSubject, type Migration } from '@causewayjs/core/internals';
import {
  connectPostgresComponent,
  type PostgresComponentConnection,
  type PostgresComponentOptions,
  type PostgresComponentSource,
} from './postgres-component.js';

/** The name under which the key tables record their schema version. */
const COMPONENT = 'data-keys';

/** The key tables for a schema, version by version. Never edit a published step: add one. */
function keyMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'data keys and master key checks',
      statements: [
        `CREATE TABLE ${s}.causeway_data_keys (
          subject text COLLATE "C" PRIMARY KEY,
          master_key_id text,
          wrapped_key bytea,
          created_at timestamptz NOT NULL,
          forgotten_at timestamptz
        )`,
        `CREATE TABLE ${s}.causeway_key_checks (
          master_key_id text PRIMARY KEY,
          check_value bytea NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`,
      ],
    },
  ];
}

/** Options of {@link PostgresKeyStore.open}. */
export type PostgresKeyStoreOptions = PostgresComponentOptions;

type Row = [string, string | null, Buffer | null, Date, Date | null];

/**
 * Data keys in the event store's PostgreSQL database and schema (`causeway_data_keys`,
 * `causeway_key_checks`, migrated as the `data-keys` component). Keys are stored wrapped by
 * the master key; forgetting clears the key and leaves a tombstone row. (PostgreSQL keeps old
 * row versions until `VACUUM`; they hold the key only wrapped, so rotating the master key
 * makes them useless.)
 *
 * @example
 * ```ts
 * const raw = await PostgresEventStore.open(url);
 * const keyStore = await PostgresKeyStore.open(raw);
 * const store = await encryptedEventStore(raw, { keyStore, masterKey, personal });
 * ```
 */
export class PostgresKeyStore implements DataKeyStore {
  private readonly sql: ReturnType<typeof statements>;

  private constructor(private readonly connection: PostgresComponentConnection) {
    this.sql = statements(connection.schema);
  }

  /**
   * Connects to the event store's database and schema and creates or migrates the key tables.
   *
   * @param source the event store's URL (a pool is opened, and ended by `close()`), or an open
   *   `PostgresEventStore` (or any `{ pool, schema }`), whose pool is shared and left open
   * @throws {StoreUnavailableError} when the server cannot be reached or the tables prepared.
   */
  static async open(
    source: PostgresComponentSource,
    options: PostgresKeyStoreOptions = {},
  ): Promise<PostgresKeyStore> {
    return new PostgresKeyStore(
      await connectPostgresComponent(source, options, COMPONENT, keyMigrations),
    );
  }

  async get(subject: string): Promise<DataKeyEntry | undefined> {
    assertSubject(subject);
    const [row] = await this.connection.query<Row>('get', this.sql.get, [subject]);
    return toEntry(row);
  }

  async create(key: StoredDataKey): Promise<DataKeyEntry> {
    assertKey(key);
    const [row] = await this.connection.query<Row>('create', this.sql.create, [
      key.subject,
      key.masterKeyId,
      Buffer.from(key.wrappedKey),
      key.createdAt,
    ]);
    if (row) return toEntry(row) as DataKeyEntry;
    // Lost a race with another creator: the winner's entry holds.
    const [existing] = await this.connection.query<Row>('get', this.sql.get, [key.subject]);
    return toEntry(existing) as DataKeyEntry;
  }

  async forget(subject: string, at: Date): Promise<boolean> {
    assertSubject(subject);
    const [row] = await this.connection.query<[boolean]>('forget', this.sql.forget, [subject, at]);
    return row?.[0] === true;
  }

  async rewrap(
    subject: string,
    fromMasterKeyId: string,
    wrappedKey: Uint8Array,
    masterKeyId: string,
  ): Promise<boolean> {
    assertSubject(subject);
    const rows = await this.connection.query<[string]>('rewrap', this.sql.rewrap, [
      masterKeyId,
      Buffer.from(wrappedKey),
      subject,
      fromMasterKeyId,
    ]);
    return rows.length > 0;
  }

  async list(options: ListDataKeysOptions = {}): Promise<StoredDataKey[]> {
    const limit = options.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new InvalidArgumentError('limit', 'must be an integer >= 1');
    const rows = await this.connection.query<Row>('list', this.sql.list, [
      options.after ?? null,
      options.excludeMasterKeyId ?? null,
      limit,
    ]);
    return rows.map((row) => {
      const entry = toEntry(row);
      if (entry?.state !== 'active') throw new Error('internal: listed a forgotten key');
      const { state: _state, ...key } = entry;
      return key;
    });
  }

  async keyChecks(): Promise<KeyCheck[]> {
    const rows = await this.connection.query<[string, Buffer]>('checks', this.sql.checks, []);
    return rows.map(([masterKeyId, value]) => ({ masterKeyId, value }));
  }

  async addKeyCheck(check: KeyCheck): Promise<void> {
    await this.connection.query('add check', this.sql.addCheck, [
      check.masterKeyId,
      Buffer.from(check.value),
    ]);
  }

  async removeKeyCheck(masterKeyId: string): Promise<void> {
    await this.connection.query('remove check', this.sql.removeCheck, [masterKeyId]);
  }

  /** Ends the pool if the store opened it (a shared pool stays open). */
  close(): Promise<void> {
    return this.connection.close();
  }
}

function toEntry(row: Row | undefined): DataKeyEntry | undefined {
  if (!row) return undefined;
  const [subject, masterKeyId, wrappedKey, createdAt, forgottenAt] = row;
  if (wrappedKey === null || masterKeyId === null)
    return { state: 'forgotten', subject, forgottenAt: forgottenAt ?? createdAt };
  return { state: 'active', subject, masterKeyId, wrappedKey, createdAt };
}

/** The store's SQL for one schema, as named (server-side prepared) statements. */
function statements(schema: string) {
  const keys = `${escapeIdentifier(schema)}.causeway_data_keys`;
  const checks = `${escapeIdentifier(schema)}.causeway_key_checks`;
  const columns = 'subject, master_key_id, wrapped_key, created_at, forgotten_at';
  const st = (name: string, text: string) => ({ name: `causeway.keys.${name}`, text });
  return {
    get: st('get', `SELECT ${columns} FROM ${keys} WHERE subject = $1`),
    create: st(
      'create',
      `INSERT INTO ${keys} (subject, master_key_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (subject) DO NOTHING RETURNING ${columns}`,
    ),
    forget: st(
      'forget',
      `WITH old AS (SELECT wrapped_key IS NOT NULL AS had FROM ${keys} WHERE subject = $1),
       up AS (
         INSERT INTO ${keys} AS k (subject, master_key_id, wrapped_key, created_at, forgotten_at)
         VALUES ($1, NULL, NULL, $2, $2)
         ON CONFLICT (subject) DO UPDATE SET master_key_id = NULL, wrapped_key = NULL,
           forgotten_at = coalesce(k.forgotten_at, EXCLUDED.forgotten_at)
         RETURNING 1)
       SELECT coalesce((SELECT had FROM old), false) FROM up`,
    ),
    rewrap: st(
      'rewrap',
      `UPDATE ${keys} SET master_key_id = $1, wrapped_key = $2
       WHERE subject = $3 AND master_key_id = $4 AND wrapped_key IS NOT NULL RETURNING subject`,
    ),
    list: st(
      'list',
      `SELECT ${columns} FROM ${keys}
       WHERE wrapped_key IS NOT NULL AND ($1::text IS NULL OR subject > $1)
         AND ($2::text IS NULL OR master_key_id <> $2)
       ORDER BY subject LIMIT $3`,
    ),
    checks: st('checks', `SELECT master_key_id, check_value FROM ${checks} ORDER BY master_key_id`),
    addCheck: st(
      'add-check',
      `INSERT INTO ${checks} (master_key_id, check_value) VALUES ($1, $2)
       ON CONFLICT (master_key_id) DO NOTHING`,
    ),
    removeCheck: st('remove-check', `DELETE FROM ${checks} WHERE master_key_id = $1`),
  };
}
