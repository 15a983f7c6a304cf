import {
  type EventMetadata,
  type RecordedEvent,
  type StreamMetadata,
  isUuid,
} from '@causewayjs/core';
import { CliInputError } from './cli-errors.js';

/**
 * An event as the CLI prints and exports it: the stored envelope, `recordedAt` as an ISO-8601
 * string. One per line in an export file (JSONL).
 */
export interface EventJson {
  id: string;
  type: string;
  stream: string;
  revision: number;
  position: number;
  data: unknown;
  metadata: EventMetadata;
  schemaVersion: number;
  recordedAt: string;
}

/** The JSON form of a recorded event. */
export function toEventJson(event: RecordedEvent): EventJson {
  return {
    id: event.id,
    type: event.type,
    stream: event.stream,
    revision: event.revision,
    position: event.position,
    data: event.data,
    metadata: event.metadata,
    schemaVersion: event.schemaVersion,
    recordedAt: event.recordedAt.toISOString(),
  };
}

/**
 * The state of a stream beyond its events, as an export records it after the events (one line
 * per stream with metadata or deleted): `{ "kind": "stream", ... }`.
 */
export interface StreamStateJson {
  kind: 'stream';
  stream: string;
  /** Revision of its last event. */
  revision: number;
  deleted: false | 'soft' | 'hard';
  metadata: StreamMetadata;
}

/** A stream-state line read back from an export. */
export interface ImportedStreamState extends StreamStateJson {
  /** 1-based line number in the file. */
  line: number;
}

/** An event read back from an export line, ready to import. */
export interface ImportedEvent {
  id: string;
  type: string;
  stream: string;
  revision: number;
  /** Its position in the source store (informative: the target assigns its own). */
  position: number | undefined;
  data: unknown;
  metadata: EventMetadata;
  schemaVersion: number;
  /** Milliseconds since the epoch, or undefined when the line has none. */
  recordedAt: number | undefined;
  /** 1-based line number in the file. */
  line: number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses and checks one line of an export file.
 *
 * @throws {CliInputError} naming the line and what is wrong with it.
 */
export function parseExportLine(text: string, line: number): ImportedEvent | ImportedStreamState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliInputError(
      `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      line,
      error,
    );
  }
  if (!isObject(value)) throw new CliInputError('expected a JSON object (one event)', line);
  if (value.kind === 'stream') return parseStreamState(value, line);
  if (value.kind !== undefined)
    throw new CliInputError(`unknown "kind" ${JSON.stringify(value.kind)}`, line);
  const { id, type, stream, revision, position, data, metadata, schemaVersion, recordedAt } = value;
  if (typeof id !== 'string' || !isUuid(id))
    throw new CliInputError('"id" must be the event\'s UUID', line);
  if (typeof type !== 'string' || type.length === 0)
    throw new CliInputError('"type" must be a non-empty string', line);
  if (typeof stream !== 'string' || stream.length === 0)
    throw new CliInputError('"stream" must be a non-empty string', line);
  if (!Number.isSafeInteger(revision) || (revision as number) < 0)
    throw new CliInputError('"revision" must be an integer >= 0', line);
  if (position !== undefined && (!Number.isSafeInteger(position) || (position as number) < 1))
    throw new CliInputError('"position" must be an integer >= 1 when given', line);
  if (!('data' in value)) throw new CliInputError('"data" is missing', line);
  if (metadata !== undefined && !isObject(metadata))
    throw new CliInputError('"metadata" must be an object when given', line);
  if (
    schemaVersion !== undefined &&
    (!Number.isSafeInteger(schemaVersion) || (schemaVersion as number) < 1)
  )
    throw new CliInputError('"schemaVersion" must be an integer >= 1 when given', line);
  let recorded: number | undefined;
  if (recordedAt !== undefined) {
    recorded = typeof recordedAt === 'string' ? Date.parse(recordedAt) : Number.NaN;
    if (Number.isNaN(recorded))
      throw new CliInputError('"recordedAt" must be an ISO-8601 date when given', line);
  }
  return {
    id,
    type,
    stream,
    revision: revision as number,
    position: position as number | undefined,
    data,
    metadata: metadata ?? {},
    schemaVersion: (schemaVersion as number | undefined) ?? 1,
    recordedAt: recorded,
    line,
  };
}

function parseStreamState(value: Record<string, unknown>, line: number): ImportedStreamState {
  const { stream, revision, deleted, metadata } = value;
  if (typeof stream !== 'string' || stream.length === 0)
    throw new CliInputError('"stream" must be a non-empty string', line);
  if (!Number.isSafeInteger(revision) || (revision as number) < 0)
    throw new CliInputError('"revision" must be an integer >= 0', line);
  if (deleted !== false && deleted !== 'soft' && deleted !== 'hard')
    throw new CliInputError('"deleted" must be false, "soft" or "hard"', line);
  if (!isObject(metadata)) throw new CliInputError('"metadata" must be an object', line);
  return { kind: 'stream', stream, revision: revision as number, deleted, metadata, line };
}
