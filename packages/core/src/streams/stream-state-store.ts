import type { StoreTransaction, TransactionalEventStore } from '../store/event-store.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { SourcePosition } from './stream-source.js';

/** What a job saves at each checkpoint. */
export interface StreamCheckpointData {
  /** The source position its state includes (undefined when the source has none). */
  position: SourcePosition | undefined;
  /**
   * The job's watermark: null before the first; {@link END_OF_EVENT_TIME} once a bounded
   * source has ended and every window has fired.
   */
  watermark: number | null;
  /** The encoded operator state (opaque text). */
  state: string;
  /**
   * The fencing epoch of the writer, as {@link StreamStateStore.claim} returned it. When set,
   * the save is refused with `StreamJobFencedError`, writing nothing, unless it is still the
   * job's current epoch; the check is made inside the save's transaction and holds until it
   * ends, so a writer that has been taken over cannot commit. Stored with the checkpoint.
   */
  epoch?: number;
}

/** A stored checkpoint. */
export interface StreamCheckpoint extends StreamCheckpointData {
  updatedAt: Date;
}

/**
 * Stream-job checkpoints (operator state with its source position), kept in the event store's
 * database so a job's output events and its checkpoint commit in one transaction, and the
 * jobs' fencing epochs, so that only the instance that claimed a job last can commit. Made by
 * `memoryStreamStateStore(store)`, `sqliteStreamStateStore(store)` (`@causewayjs/sqlite`) or
 * `postgresStreamStateStore(store)` (`@causewayjs/postgres`); each passes
 * `src/testing/stream-state.suite.ts`.
 */
export interface StreamStateStore<Tx extends StoreTransaction = StoreTransaction> {
  /** The store whose transactions carry the checkpoints. */
  readonly store: TransactionalEventStore<Tx>;
  load(job: string): Promise<StreamCheckpoint | undefined>;
  /**
   * Saves (replaces) the job's checkpoint; with `tx`, it commits with it. With
   * `checkpoint.epoch`, only while that is the job's current epoch (see {@link StreamStateStore.claim}).
   *
   * @throws {StreamJobFencedError} when `checkpoint.epoch` is not the job's current epoch.
   */
  save(job: string, checkpoint: StreamCheckpointData, tx?: Tx): Promise<void>;
  /**
   * Takes the job over for `owner`: gives it a new fencing epoch, one above any it had, and
   * returns it. From then on a save carrying an older epoch is refused, so an instance that
   * was taken over cannot commit again. A claim waits for transactions that have checked the
   * epoch to end, so the new owner loads the checkpoint after the last commit of the old one.
   * Epochs are kept when the checkpoint is deleted. With `tx`, it commits with it.
   */
  claim(job: string, owner: string, tx?: Tx): Promise<number>;
  /** Forgets the job's checkpoint: it starts afresh next time. */
  delete(job: string, tx?: Tx): Promise<void>;
  /** Every stored checkpoint's job, position, watermark, size and time. */
  list(): Promise<
    {
      job: string;
      position: SourcePosition | undefined;
      watermark: number | null;
      bytes: number;
      updatedAt: Date;
    }[]
  >;
}

/**
 * The watermark a checkpoint stores once event time has ended (a bounded source read to its
 * end): `Number.MAX_SAFE_INTEGER`, the stored form of +Infinity.
 */
export const END_OF_EVENT_TIME = Number.MAX_SAFE_INTEGER;

/** Longest job name, in characters. */
export const MAX_STREAM_JOB_NAME_LENGTH = 200;

/** Throws unless `job` is a usable job name. */
export function assertJobName(job: unknown): asserts job is string {
  if (typeof job !== 'string' || job.length === 0 || job.length > MAX_STREAM_JOB_NAME_LENGTH)
    throw new InvalidArgumentError(
      'job',
      `must be a non-empty string of at most ${MAX_STREAM_JOB_NAME_LENGTH} characters`,
    );
}

/** Throws unless `data` is checkpoint data. */
export function assertCheckpointData(data: unknown): asserts data is StreamCheckpointData {
  const d = data as Partial<StreamCheckpointData> | null;
  if (typeof d !== 'object' || d === null)
    throw new InvalidArgumentError('checkpoint', 'must be { position, watermark, state }');
  const p = d.position;
  if (
    p !== undefined &&
    !(typeof p === 'string' || (typeof p === 'number' && Number.isSafeInteger(p) && p >= 0))
  )
    throw new InvalidArgumentError(
      'checkpoint.position',
      'must be a string, an integer >= 0 or undefined',
    );
  if (
    d.watermark !== null &&
    !(typeof d.watermark === 'number' && Number.isSafeInteger(d.watermark))
  )
    throw new InvalidArgumentError('checkpoint.watermark', 'must be an integer or null');
  if (typeof d.state !== 'string')
    throw new InvalidArgumentError('checkpoint.state', 'must be a string');
  if (d.epoch !== undefined) assertEpoch(d.epoch, 'checkpoint.epoch');
}

/** Throws unless `epoch` is a fencing epoch (an integer >= 1). */
export function assertEpoch(epoch: unknown, argument = 'epoch'): asserts epoch is number {
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1)
    throw new InvalidArgumentError(argument, 'must be an integer >= 1');
}

/** Throws unless `owner` names an instance of a job (a non-empty string of at most 200). */
export function assertOwner(owner: unknown): asserts owner is string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200)
    throw new InvalidArgumentError('owner', 'must be a non-empty string of at most 200 characters');
}

/** Encodes a source position for storage: numbers as `n:<digits>`, strings as `s:<text>`. */
export function encodePosition(position: SourcePosition | undefined): string | null {
  if (position === undefined) return null;
  return typeof position === 'number' ? `n:${position}` : `s:${position}`;
}

/** Decodes what {@link encodePosition} wrote. */
export function decodePosition(text: string | null): SourcePosition | undefined {
  if (text === null) return undefined;
  return text.startsWith('n:') ? Number(text.slice(2)) : text.slice(2);
}
