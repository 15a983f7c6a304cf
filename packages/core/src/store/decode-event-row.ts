import type { EventMetadata, RecordedEvent } from '../core/envelope.js';
import { EventDecodeError } from '../core/errors.js';

/**
 * An events-table row as the SQL adapters select it:
 * `position, id, stream, revision, type, data, metadata, schema_version, recorded_at`, with
 * `data` and `metadata` as JSON text and `recorded_at` as milliseconds since the epoch.
 * Integers may come as numbers or as decimal text (PostgreSQL's `bigint`).
 */
export type StoredEventRow = readonly unknown[];

/** Marks a placeholder that stands for a row that could not be decoded. */
const UNDECODABLE = Symbol('causeway.undecodable');

/** Marks a page (array) holding at least one placeholder. */
const HOLDS_UNDECODABLE = Symbol('causeway.holdsUndecodable');

type Placeholder = RecordedEvent & { [UNDECODABLE]: EventDecodeError };

/** Why a column is refused: thrown inside {@link decodeEventRow}, turned into the error there. */
class Refused extends Error {
  constructor(
    readonly column: string,
    readonly reason: string,
    cause?: unknown,
  ) {
    super(reason, { cause });
  }
}

/** The range of times a `Date` can hold, in ms since the epoch. */
const MAX_TIME = 8.64e15;

/**
 * Decodes an events-table row, checking what the table's column types cannot: that `data`
 * and `metadata` hold JSON (an object, for `metadata`), and that the other columns hold
 * values of their type (rows written around the store with raw SQL may not).
 *
 * @throws {EventDecodeError} naming the position, stream and the column at fault.
 */
export function decodeEventRow(row: StoredEventRow): RecordedEvent {
  const event = tryDecode(row);
  if (event === undefined) throw decodeError(row);
  return event;
}

/**
 * The row's event, or undefined when some column is not what the store writes. The hot path
 * of every read: plain checks, no allocation beyond the event itself; what is wrong is
 * worked out only when something is (see {@link decodeError}).
 */
function tryDecode(row: StoredEventRow): RecordedEvent | undefined {
  const id = row[1];
  const type = row[4];
  const stream = row[2];
  const data = row[5];
  const metadata = row[6];
  const recordedAt = row[8];
  if (
    typeof id !== 'string' ||
    typeof type !== 'string' ||
    typeof stream !== 'string' ||
    typeof data !== 'string' ||
    typeof metadata !== 'string' ||
    typeof recordedAt !== 'number' ||
    !(recordedAt >= -MAX_TIME && recordedAt <= MAX_TIME)
  )
    return undefined;
  const position = toInteger(row[0]);
  const revision = toInteger(row[3]);
  const schemaVersion = toInteger(row[7]);
  if (
    !Number.isSafeInteger(position) ||
    !Number.isSafeInteger(revision) ||
    !Number.isSafeInteger(schemaVersion)
  )
    return undefined;
  let decodedData: unknown;
  let decodedMetadata: unknown;
  try {
    decodedData = JSON.parse(data);
    decodedMetadata = metadata === '{}' ? {} : JSON.parse(metadata);
  } catch {
    return undefined;
  }
  if (
    typeof decodedMetadata !== 'object' ||
    decodedMetadata === null ||
    Array.isArray(decodedMetadata)
  )
    return undefined;
  return {
    id,
    type,
    stream,
    revision,
    position,
    data: decodedData,
    metadata: decodedMetadata as EventMetadata,
    schemaVersion,
    recordedAt: new Date(Math.round(recordedAt)),
  };
}

function toInteger(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' && value !== '' ? Number(value) : NaN;
}

/** Works out what is wrong with a row that {@link tryDecode} refused. */
function decodeError(row: StoredEventRow): EventDecodeError {
  let refused: Refused | undefined;
  try {
    text(row[1], 'id');
    text(row[4], 'type');
    text(row[2], 'stream');
    integer(row[3], 'revision');
    integer(row[0], 'position');
    json(row[5], 'data');
    if (row[6] !== '{}') object(json(row[6], 'metadata'));
    integer(row[7], 'schema_version');
    date(row[8]);
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    refused = error;
  }
  refused ??= new Refused('(unknown)', 'does not decode');
  return new EventDecodeError(
    {
      position: Number(row[0]),
      stream: shown(row[2]),
      eventId: shown(row[1]),
      type: shown(row[4]),
      revision: Number(row[3]),
      column: refused.column,
      reason: refused.reason,
    },
    refused.cause,
  );
}

/**
 * Decodes a page of rows for a read. A row that cannot be decoded becomes a placeholder in
 * its place (its position and revision kept, so the read's cursor moves past it); the
 * store's iterator throws its {@link EventDecodeError} when it reaches it, after the events
 * before it, and goes on after it if asked for more.
 */
export function decodeEventRows(rows: readonly StoredEventRow[]): RecordedEvent[] {
  const events = new Array<RecordedEvent>(rows.length);
  let failed = false;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as StoredEventRow;
    const event = tryDecode(row);
    if (event !== undefined) {
      events[i] = event;
    } else {
      failed = true;
      events[i] = placeholder(decodeError(row));
    }
  }
  if (failed) Object.defineProperty(events, HOLDS_UNDECODABLE, { value: true });
  return events;
}

/** True when `page` (from {@link decodeEventRows}) holds a placeholder. */
export function holdsUndecodable(page: readonly unknown[]): boolean {
  return (page as { [HOLDS_UNDECODABLE]?: boolean })[HOLDS_UNDECODABLE] === true;
}

/** The decoding error a placeholder stands for, or undefined for a real event. */
export function undecodableError(item: unknown): EventDecodeError | undefined {
  return typeof item === 'object' && item !== null && UNDECODABLE in item
    ? (item as Placeholder)[UNDECODABLE]
    : undefined;
}

function placeholder(error: EventDecodeError): RecordedEvent {
  const event: Placeholder = {
    id: error.eventId,
    type: error.type,
    stream: error.stream,
    revision: error.revision,
    position: error.position,
    data: undefined,
    metadata: {},
    schemaVersion: 0,
    recordedAt: new Date(Number.NaN),
    [UNDECODABLE]: error,
  };
  return event;
}

function text(value: unknown, column: string): string {
  if (typeof value === 'string') return value;
  throw new Refused(column, `is ${kind(value)}, not text`);
}

function integer(value: unknown, column: string): number {
  const n = toInteger(value);
  if (Number.isSafeInteger(n)) return n;
  throw new Refused(column, `is ${kind(value)}, not an integer`);
}

function json(value: unknown, column: string): unknown {
  if (typeof value !== 'string') throw new Refused(column, `is ${kind(value)}, not JSON text`);
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new Refused(column, `is not valid JSON (${(error as Error).message})`, error);
  }
}

function object(value: unknown): EventMetadata {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as EventMetadata;
  throw new Refused(
    'metadata',
    `holds ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not a JSON object`,
  );
}

function date(value: unknown): Date {
  if (typeof value === 'number') {
    if (value >= -MAX_TIME && value <= MAX_TIME) return new Date(Math.round(value));
    throw new Refused('recorded_at', `is ${String(value)} ms, not a time a Date can hold`);
  }
  throw new Refused('recorded_at', `is ${kind(value)}, not a time in milliseconds`);
}

/** What kind of value a column holds, for messages (not the value: it may be personal data). */
function kind(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Buffer.isBuffer(value)) return 'a BLOB';
  if (typeof value === 'string') return value === '' ? 'empty text' : 'text';
  return `a ${typeof value}`;
}

/** A column shown in the error: its text or number, else nothing. */
function shown(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return '';
}
