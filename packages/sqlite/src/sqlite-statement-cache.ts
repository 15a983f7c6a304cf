import type Database from 'better-sqlite3';
import { InvalidArgumentError, StoreClosedError } from '@causewayjs/core';
import { sqliteCall } from './sqlite-errors.js';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';

/**
 * What the SQLite components built on a {@link SqliteEventStore} share: statements prepared
 * once per connection (the store's, for reads; a transaction's, for writes), the rule that
 * every write runs in a transaction of the store, and the one place where their driver
 * failures become Causeway errors ({@link sqliteCall}): `STORE_BUSY`, `STORAGE_FULL`,
 * `WRITE_REJECTED` or `STORE_UNAVAILABLE`, the driver's error as `cause`. Statements are only
 * handed to `work`, never out, so no component can run one unguarded.
 */
export class SqliteStatementCache<S> {
  private readonly prepared = new WeakMap<Database.Database, S>();

  /**
   * @param component the component's name, for messages (`'checkpoints'`...)
   */
  constructor(
    private readonly store: SqliteEventStore,
    private readonly prepare: (db: Database.Database) => S,
    private readonly component: string,
  ) {}

  /** Runs `work` on the store's connection, which sees committed data only. */
  read<T>(work: (statements: S) => T): Promise<T> {
    // A promise executor turns whatever is thrown (argument checks included) into a rejection.
    return new Promise((resolve) => {
      if (this.store.isClosed || !this.store.database.open) throw new StoreClosedError();
      const db = this.store.database;
      resolve(sqliteCall(`${this.component} read`, () => work(this.on(db))));
    });
  }

  /** Runs `work` in `tx`, or in a transaction of its own. */
  write<T>(tx: SqliteTransaction | undefined, work: (statements: S) => T): Promise<T> {
    const run = (db: Database.Database) =>
      sqliteCall(`${this.component} write`, () => work(this.on(db)));
    if (!tx) return this.store.transaction((own) => Promise.resolve(run(own.database)));
    return new Promise((resolve) => {
      if (!tx.active)
        throw new InvalidArgumentError(
          'tx',
          'the transaction has already committed or rolled back',
        );
      resolve(run(tx.database));
    });
  }

  private on(db: Database.Database): S {
    let statements = this.prepared.get(db);
    if (!statements) {
      statements = this.prepare(db);
      this.prepared.set(db, statements);
    }
    return statements;
  }
}
