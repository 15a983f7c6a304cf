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
}

/**
 * The snapshot store port. Each adapter keeps snapshots in the same database as the events;
 * every implementation passes `test/conformance/snapshot-store.suite.ts`.
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
  return { stream, revision, stateVersion, state, takenAt: takenAt.getTime() };
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
