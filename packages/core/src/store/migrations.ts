import { SchemaTooNewError } from '../core/errors.js';

/** One schema step of an adapter component. Versions start at 1 and have no gaps. */
export interface Migration {
  version: number;
  /** What it changes, for logs and the schema-version table. */
  description: string;
  /** SQL statements, run in order inside one transaction. */
  statements: readonly string[];
}

/**
 * The migrations still to apply to a component at `current`, in order. Opening a database
 * that a newer Causeway migrated further than this code knows fails clearly rather than
 * reading a schema it does not understand.
 *
 * @throws {SchemaTooNewError}
 */
export function pendingMigrations(current: number, migrations: readonly Migration[]): Migration[] {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`internal: migration ${i} has version ${m.version}, expected ${i + 1}`);
  });
  if (current > latest) throw new SchemaTooNewError(current, latest);
  return migrations.filter((m) => m.version > current);
}
