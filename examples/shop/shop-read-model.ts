import type { SqliteReadModel } from '../../src/adapters/sqlite/index.js';
import type { PostgresReadModel } from '../../src/adapters/postgres/index.js';

/** The read-model handle of the shop's projections: SQLite's or PostgreSQL's. */
export type ShopReadModel = SqliteReadModel | PostgresReadModel;

/**
 * The little SQL the shop's projections need, written once for both databases: statements
 * use `?` placeholders (numbered `$1...` for PostgreSQL here) and portable SQL
 * (`INSERT ... ON CONFLICT`, `TEXT`, `INTEGER`).
 */
export interface ShopSql {
  /** Name of the build's table (`rm.table(name)`), quoted as the database needs. */
  table(name?: string): string;
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** Numbers `?` placeholders as `$1, $2...` for PostgreSQL. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The {@link ShopSql} of a read-model handle. */
export function shopSql(rm: ShopReadModel): ShopSql {
  if ('database' in rm) {
    return {
      table: (name) => rm.table(name),
      run: (sql, params = []) => {
        rm.database.prepare(sql).run(...params);
        return Promise.resolve();
      },
      all: <T>(sql: string, params: readonly unknown[] = []) =>
        Promise.resolve(rm.database.prepare(sql).all(...params) as T[]),
    };
  }
  return {
    table: (name) => rm.table(name),
    run: async (sql, params = []) => {
      await rm.client.query(numbered(sql), [...params]);
    },
    all: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await rm.client.query(numbered(sql), [...params])).rows as T[],
  };
}
