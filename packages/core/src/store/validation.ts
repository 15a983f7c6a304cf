import { type EventInput, type EventMetadata, WELL_KNOWN_METADATA_KEYS } from '../core/envelope.js';
import {
  EmptyAppendError,
  EventTooLargeError,
  InvalidArgumentError,
  InvalidEventError,
  InvalidStreamNameError,
  NotJsonError,
} from '../core/errors.js';
import { isUuid, newId } from '../core/ids.js';
import { encodeJson } from '../core/json-codec.js';
import type { AppendRequest, ExpectedRevision, StreamMetadata } from './event-store.js';

/** Longest accepted stream name, in characters. */
export const MAX_STREAM_NAME_LENGTH = 200;
/** Longest accepted event type, in characters. */
export const MAX_EVENT_TYPE_LENGTH = 200;
/** Default limit on one event's encoded data plus metadata. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Throws {@link InvalidStreamNameError} unless `stream` is a usable stream name. */
export function assertStreamName(stream: unknown): asserts stream is string {
  if (typeof stream !== 'string') throw new InvalidStreamNameError(stream, 'must be a string');
  if (stream.length === 0) throw new InvalidStreamNameError(stream, 'must not be empty');
  if (stream.length > MAX_STREAM_NAME_LENGTH) {
    throw new InvalidStreamNameError(stream, `longer than ${MAX_STREAM_NAME_LENGTH} characters`);
  }
  if (CONTROL_CHARS.test(stream)) {
    throw new InvalidStreamNameError(stream, 'must not contain control characters');
  }
  if (stream.startsWith('$')) {
    throw new InvalidStreamNameError(stream, 'names starting with "$" are reserved for the store');
  }
}

/** Throws {@link InvalidArgumentError} unless `expected` is a valid expected revision. */
export function assertExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return;
  throw new InvalidArgumentError(
    'expectedRevision',
    `${JSON.stringify(expected) ?? String(expected)} is not 'any', 'no_stream', 'stream_exists' or a revision >= 0`,
  );
}

/** An event checked and encoded, ready for any adapter to write. */
export interface PreparedEvent {
  id: string;
  /** True when the caller supplied the id (only those can already be stored). */
  clientId: boolean;
  type: string;
  data: string;
  metadata: string;
  schemaVersion: number;
}

/** An append request checked and encoded. */
export interface PreparedAppend {
  stream: string;
  expectedRevision: ExpectedRevision;
  events: PreparedEvent[];
}

/**
 * Checks and encodes one append's events. Throws a typed error for the first problem found;
 * nothing is written when it throws because adapters call it before touching the database.
 */
export function prepareAppend(
  stream: string,
  events: readonly EventInput[],
  expectedRevision: unknown,
  maxEventBytes: number,
): PreparedAppend {
  assertStreamName(stream);
  assertExpectedRevision(expectedRevision);
  if (!isArray(events)) {
    throw new InvalidArgumentError('events', 'must be an array of events');
  }
  if (events.length === 0) throw new EmptyAppendError(stream);
  // Only a caller's ids can repeat: generated ones are unique (see newId), so an append
  // without client ids keeps no set of them.
  let seen: Set<string> | undefined;
  const prepared = new Array<PreparedEvent>(events.length);
  for (let index = 0; index < events.length; index++) {
    const p = prepareEvent(events[index] as EventInput, index, maxEventBytes);
    if (p.clientId) {
      seen ??= new Set<string>();
      if (seen.has(p.id))
        throw new InvalidEventError(index, `event id ${p.id} appears twice in this append`);
      seen.add(p.id);
    }
    prepared[index] = p;
  }
  return { stream, expectedRevision, events: prepared };
}

/** Checks a whole `appendMany` call. */
export function prepareAppendMany(
  requests: readonly AppendRequest[],
  maxEventBytes: number,
): PreparedAppend[] {
  if (!isArray(requests) || requests.length === 0) {
    throw new InvalidArgumentError(
      'requests',
      'appendMany needs a non-empty array of { stream, events }',
    );
  }
  const ids = new Set<string>();
  return requests.map((r: AppendRequest) => {
    if (typeof r !== 'object' || r === null) {
      throw new InvalidArgumentError(
        'requests',
        'each request must be an object { stream, events }',
      );
    }
    const p = prepareAppend(
      r.stream,
      r.events,
      r.expectedRevision === undefined ? 'any' : r.expectedRevision,
      maxEventBytes,
    );
    for (const e of p.events) {
      if (!e.clientId) continue;
      if (ids.has(e.id)) {
        throw new InvalidArgumentError(
          'requests',
          `event id ${e.id} appears twice in this appendMany`,
        );
      }
      ids.add(e.id);
    }
    return p;
  });
}

function prepareEvent(event: EventInput, index: number, maxEventBytes: number): PreparedEvent {
  if (typeof event !== 'object' || event === null) {
    throw new InvalidEventError(index, 'must be an object { type, data }');
  }
  const { type, id, schemaVersion, metadata } = event;
  if (typeof type !== 'string' || type.length === 0) {
    throw new InvalidEventError(index, 'type must be a non-empty string');
  }
  if (type.length > MAX_EVENT_TYPE_LENGTH || CONTROL_CHARS.test(type)) {
    throw new InvalidEventError(
      index,
      `type must be at most ${MAX_EVENT_TYPE_LENGTH} printable characters`,
    );
  }
  if (id !== undefined && !isUuid(id)) {
    throw new InvalidEventError(index, `id ${JSON.stringify(id) ?? String(id)} is not a UUID`);
  }
  if (
    schemaVersion !== undefined &&
    !(
      typeof schemaVersion === 'number' &&
      Number.isSafeInteger(schemaVersion) &&
      schemaVersion >= 1
    )
  ) {
    throw new InvalidEventError(index, 'schemaVersion must be an integer >= 1');
  }
  if (!('data' in event))
    throw new InvalidEventError(index, 'data is missing (use null for no data)');
  const data = encodeAt(event.data, `$[${index}].data`);
  const meta =
    metadata === undefined || metadata === null
      ? '{}'
      : encodeAt(checkMetadata(metadata, index), `$[${index}].metadata`);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only measure exactly when that could matter.
  if ((data.length + meta.length) * 3 > maxEventBytes) {
    const size = Buffer.byteLength(data) + Buffer.byteLength(meta);
    if (size > maxEventBytes) throw new EventTooLargeError(index, size, maxEventBytes);
  }
  return {
    id: id === undefined ? newId() : id.toLowerCase(),
    clientId: id !== undefined,
    type,
    data,
    metadata: meta,
    schemaVersion: schemaVersion ?? 1,
  };
}

function checkMetadata(metadata: unknown, index: number): EventMetadata {
  if (metadata === undefined || metadata === null) return {};
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new InvalidEventError(index, 'metadata must be an object');
  }
  const m = metadata as EventMetadata;
  for (const key of WELL_KNOWN_METADATA_KEYS) {
    if (m[key] !== undefined && typeof m[key] !== 'string') {
      throw new InvalidEventError(index, `metadata.${key} must be a string`);
    }
  }
  return m;
}

function encodeAt(value: unknown, path: string): string {
  try {
    return encodeJson(value, path);
  } catch (e) {
    if (e instanceof NotJsonError) throw e;
    throw new NotJsonError(path, (e as Error).message);
  }
}

/** Checks stream metadata and returns its JSON text. */
export function prepareStreamMetadata(metadata: unknown): string {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidArgumentError('metadata', 'must be an object');
  }
  const m = metadata as StreamMetadata;
  const positiveInt = (key: 'maxCount' | 'truncateBefore', min: number) => {
    const v = m[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= min)) {
      throw new InvalidArgumentError(`metadata.${key}`, `must be an integer >= ${min}`);
    }
  };
  positiveInt('maxCount', 1);
  positiveInt('truncateBefore', 0);
  if (
    m.maxAge !== undefined &&
    !(typeof m.maxAge === 'number' && Number.isFinite(m.maxAge) && m.maxAge > 0)
  ) {
    throw new InvalidArgumentError('metadata.maxAge', 'must be a number of seconds > 0');
  }
  return encodeJson(m, '$.metadata');
}

/** Checks a positive integer option such as `limit`. */
export function assertLimit(limit: unknown): asserts limit is number | undefined {
  if (limit === undefined) return;
  if (!(typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0)) {
    throw new InvalidArgumentError('limit', 'must be an integer >= 0');
  }
}

/** Checks a `from` option (a revision or position, or 'start'/'end'). */
export function assertFrom(
  from: unknown,
  what: string,
): asserts from is number | 'start' | 'end' | undefined {
  if (from === undefined || from === 'start' || from === 'end') return;
  if (!(typeof from === 'number' && Number.isSafeInteger(from) && from >= 0)) {
    throw new InvalidArgumentError('from', `must be a ${what} >= 0, 'start' or 'end'`);
  }
}

/** Checks a direction option. */
export function assertDirection(
  direction: unknown,
): asserts direction is 'forward' | 'backward' | undefined {
  if (direction === undefined || direction === 'forward' || direction === 'backward') return;
  throw new InvalidArgumentError('direction', "must be 'forward' or 'backward'");
}

/** `Array.isArray` without widening the element type to `any`. */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- documents intent: a T[] or anything else
function isArray<T>(value: readonly T[] | unknown): value is readonly T[] {
  return Array.isArray(value);
}
