import { InvalidArgumentError } from '../core/errors.js';
import { encodeJson } from '../core/json-codec.js';
import { assertStreamName } from '../store/validation.js';
import { InvalidSnapshotError } from './domain-errors.js';

/**
 * An aggregate's state saved at a stream revision, so loading it reads only the events after
 * that revision.
 */
export interface Snapshot<S = unknown> {
  /** Revision of the last event folded into `state`. */
  revision: number;
  /**
   * The version key of the state's shape and of the `evolve` that built it. Loading asks for
   * one key and never sees snapshots saved under another, so changing the key (when `evolve`
   * or the state changes) retires every old snapshot at once.
   */
  stateVersion: string;
  /** The state; any JSON value. */
  state: S;
  /** When the snapshot was taken. */
  takenAt: Date;
  /**
   * The encryption subjects whose decrypted personal fields may be folded into `state` (the
   * `metadata.encryption.subject` of the events folded): forgetting one of them drops the
   * snapshot ({@link SnapshotStore.deleteBySubject}), and a command handler that finds one of
   * them forgotten never serves it. A command handler always records them (`[]`: none).
   *
   * Stored as a set (sorted, without duplicates). Absent means unknown: a snapshot saved
   * without them, or before they were recorded, may hold anyone's personal data, so every
   * `deleteBySubject` drops it and a command handler on an encrypting store does not use it.
   */
  subjects?: readonly string[];
}

/**
 * The snapshot store port. Each adapter keeps snapshots in the same database as the events;
 * every implementation passes `src/testing/snapshot-store.suite.ts`.
 *
 * A store keeps, per stream and state version key, the snapshot with the highest revision
 * saved: saving an older one than it holds changes nothing, so slow writers never replace a
 * newer snapshot.
 *
 * @example
 * ```ts
 * const snapshots = new MemorySnapshotStore();
 * await snapshots.save('order-42', { revision: 99, stateVersion: 'order@1', state, takenAt: new Date() });
 * const latest = await snapshots.load('order-42', 'order@1'); // { revision: 99, ... }
 * ```
 */
export interface SnapshotStore {
  /**
   * The newest snapshot of `stream` saved under `stateVersion`, or undefined if there is
   * none. Snapshots saved under any other key are ignored.
   */
  load<S = unknown>(stream: string, stateVersion: string): Promise<Snapshot<S> | undefined>;

  /**
   * Saves a snapshot unless one with a higher revision is already stored for its stream and
   * state version key.
   *
   * @throws {InvalidSnapshotError} for a negative or non-integer revision, an empty state
   *   version key, an invalid `takenAt` or a state that is not JSON.
   */
  save(stream: string, snapshot: Snapshot): Promise<void>;

  /** Removes every snapshot of `stream`, under every state version key. */
  delete(stream: string): Promise<void>;

  /**
   * Removes every snapshot, of any stream and state version key, that may hold `subject`'s
   * personal data: those whose `subjects` list it, and those whose subjects are unknown.
   * What forgetting a subject runs (crypto-shredding must reach snapshots too); idempotent.
   *
   * @returns how many snapshots were removed.
   * @throws {InvalidArgumentError} unless `subject` is a string of 1-200 characters.
   */
  deleteBySubject(subject: string): Promise<number>;
}

/** A snapshot checked and encoded, ready for any snapshot store to write. */
export interface PreparedSnapshot {
  stream: string;
  revision: number;
  stateVersion: string;
  /** The state as JSON text. */
  state: string;
  /** `takenAt` in ms since the epoch. */
  takenAt: number;
  /** The subjects, sorted and without duplicates; `null` when unknown (none were given). */
  subjects: string[] | null;
}

/**
 * Checks a snapshot and encodes its state: the same rules for every snapshot store, applied
 * before anything is written.
 *
 * @throws {InvalidSnapshotError} naming what is wrong.
 * @throws {InvalidStreamNameError} for a bad stream name.
 */
export function prepareSnapshot(stream: string, snapshot: Snapshot): PreparedSnapshot {
  assertStreamName(stream);
  if (typeof snapshot !== 'object' || snapshot === null) {
    throw new InvalidSnapshotError(
      stream,
      'must be an object { revision, stateVersion, state, takenAt }',
    );
  }
  const { revision, stateVersion, takenAt } = snapshot;
  if (!(typeof revision === 'number' && Number.isSafeInteger(revision) && revision >= 0)) {
    throw new InvalidSnapshotError(stream, 'revision must be an integer >= 0');
  }
  assertStateVersion(stream, stateVersion);
  if (!(takenAt instanceof Date) || Number.isNaN(takenAt.getTime())) {
    throw new InvalidSnapshotError(stream, 'takenAt must be a valid Date');
  }
  let state: string;
  try {
    state = encodeJson(snapshot.state, '$.state');
  } catch (error) {
    throw new InvalidSnapshotError(stream, (error as Error).message, { cause: error });
  }
  const subjects = prepareSubjects(stream, snapshot.subjects);
  return { stream, revision, stateVersion, state, takenAt: takenAt.getTime(), subjects };
}

/** The subjects as stored: a sorted set, or `null` for unknown. */
function prepareSubjects(stream: string, subjects: unknown): string[] | null {
  if (subjects === undefined) return null;
  if (!Array.isArray(subjects)) {
    throw new InvalidSnapshotError(stream, 'subjects must be an array of strings');
  }
  for (const subject of subjects as unknown[]) {
    if (!isSubject(subject)) {
      throw new InvalidSnapshotError(stream, 'subjects must be strings of 1-200 characters');
    }
  }
  return [...new Set(subjects as string[])].sort();
}

/**
 * Checks an encryption subject: a string of 1-200 characters, as a data key store accepts.
 *
 * @throws {InvalidArgumentError}
 */
export function assertSnapshotSubject(subject: unknown): asserts subject is string {
  if (!isSubject(subject)) {
    throw new InvalidArgumentError('subject', 'must be a string of 1-200 characters');
  }
}

function isSubject(subject: unknown): subject is string {
  return typeof subject === 'string' && subject.length > 0 && subject.length <= 200;
}

/**
 * Checks a state version key: a non-empty string of at most 200 characters.
 *
 * @throws {InvalidSnapshotError}
 */
export function assertStateVersion(
  stream: string,
  stateVersion: unknown,
): asserts stateVersion is string {
  if (typeof stateVersion !== 'string' || stateVersion.length === 0 || stateVersion.length > 200) {
    throw new InvalidSnapshotError(
      stream,
      'stateVersion must be a non-empty string of at most 200 characters',
    );
  }
}
