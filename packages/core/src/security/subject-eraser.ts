import { InvalidArgumentError } from '../core/errors.js';

/**
 * Type of the audit event `forgetSubject` appends (to the `security-audit` stream by
 * default). Readers of the log take it as the notice that a subject was forgotten: the
 * encrypting store drops the subject's cached key when it reads one, and the projector hands
 * it to a projection's `forget` hook.
 */
export const SUBJECT_FORGOTTEN_EVENT = 'subject.forgotten';

/**
 * Tables of the store's shared components that no backend's eraser rewrites: the hash
 * chains' anchors, the key tables (wrapped keys, no plaintext) and the schema bookkeeping.
 */
export const ERASURE_EXCLUDED_COMPONENT_TABLES: readonly string[] = [
  'causeway_chain_anchors',
  'causeway_data_keys',
  'causeway_key_checks',
  'causeway_schema_version',
  'causeway_event_schemas',
  'causeway_schema_compatibility',
];

/** The data of a {@link SUBJECT_FORGOTTEN_EVENT} event. */
export interface SubjectForgottenData {
  subject: string;
  /** True when that forget destroyed a key (false: none, or already forgotten). */
  keyDestroyed: boolean;
  /** ISO-8601 time of the forget. */
  forgottenAt: string;
  reason?: string;
  /** Snapshots deleted (present when snapshot stores are configured). */
  snapshotsDeleted?: number;
  /** Stored copies erased (present when erasers are configured). */
  copiesErased?: number;
}

/**
 * Where the copies of a forgotten subject's personal data are erased. Crypto-shredding makes
 * the events themselves unreadable, but what consumers built from them while the key lived
 * (saga state and history, the saga outbox and timers, stream-job state, parked events'
 * error texts, read models) holds the decrypted values. `forgetSubject` collects those
 * values (while the key still decrypts them) and hands them to each configured eraser, which
 * overwrites every occurrence in the tables it covers.
 *
 * Adapters provide one for their database (`Backend.subjectEraser()`): SQLite and PostgreSQL
 * cover every table of the backend's database (or schema) except the event log, the stream
 * table and the key tables, which hold no plaintext of a personal field.
 */
export interface SubjectEraser {
  /**
   * Replaces each of `values` (exact text, as found in a column) with `replacement` wherever
   * it occurs, in every text or JSON column this eraser covers. Values are matched as
   * substrings, so a value inside a longer text (`Ada <ada@example.com>`) is erased too.
   *
   * @returns how many rows changed (a row changed for two values counts twice).
   */
  eraseValues(values: readonly string[], replacement: string): Promise<number>;
}

/**
 * Shortest personal value searched for, in characters: shorter ones (`no`, `42`) would
 * match unrelated text everywhere.
 */
export const MIN_ERASED_VALUE_LENGTH = 3;

/**
 * Texts that are also JSON's own tokens (`null`, `true`, numbers, punctuation): replacing
 * them would rewrite the structure of stored JSON (and other people's numbers), not a copy.
 */
const STRUCTURAL = /^(?:null|true|false|[\s\d.,:;+\-eE[\]{}"]*)$/;

/**
 * The texts under which `value` (a decrypted personal field) can be stored: every string
 * leaf of it, as written and as JSON writes it inside a string (quotes, backslashes and
 * control characters escaped), longest first, so that a longer value is erased before a
 * shorter one it contains. Numbers and booleans, and strings that read as them or as JSON
 * punctuation (`"12345"`, `"null"`), are left out: they would match unrelated data.
 */
export function erasableTexts(values: readonly unknown[]): string[] {
  const texts = new Set<string>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 32) return;
    if (typeof value === 'string') {
      if (value.length < MIN_ERASED_VALUE_LENGTH || STRUCTURAL.test(value)) return;
      texts.add(value);
      texts.add(JSON.stringify(value).slice(1, -1));
    } else if (Array.isArray(value)) for (const item of value) visit(item, depth + 1);
    else if (typeof value === 'object' && value !== null)
      for (const item of Object.values(value)) visit(item, depth + 1);
  };
  for (const value of values) visit(value, 0);
  return [...texts].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/**
 * Checks the arguments of {@link SubjectEraser.eraseValues} and returns the values to
 * search for.
 *
 * @throws {InvalidArgumentError} for values that are not non-empty strings.
 */
export function checkErasure(values: readonly string[], replacement: string): string[] {
  const list: unknown = values;
  if (!Array.isArray(list) || (list as unknown[]).some((v) => typeof v !== 'string' || v === ''))
    throw new InvalidArgumentError('values', 'must be an array of non-empty strings');
  if (typeof replacement !== 'string')
    throw new InvalidArgumentError('replacement', 'must be a string');
  // A value inside the replacement would be found again by every later erasure.
  return values.filter((v) => !replacement.includes(v));
}
