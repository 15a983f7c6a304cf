import { decodeJson } from '../core/json-codec.js';
import { assertStreamName } from '../store/validation.js';
import {
  assertSnapshotSubject,
  assertStateVersion,
  prepareSnapshot,
  type PreparedSnapshot,
  type Snapshot,
  type SnapshotStore,
} from './snapshot-store.js';

/**
 * Snapshots in process memory, for tests and for the memory event store. States are kept
 * as JSON text, so a loaded state is always a fresh copy and a state that a database could
 * not hold is refused here too. `deleteBySubject` scans every snapshot: forgetting is rare,
 * and a memory store is small.
 *
 * @example
 * ```ts
 * const handler = new CommandHandler({
 *   store,
 *   decider,
 *   snapshots: { store: new MemorySnapshotStore(), stateVersion: 'order@1', policy: everyNEvents(100) },
 * });
 * ```
 */
export class MemorySnapshotStore implements SnapshotStore {
  /** stream → state version key → snapshot. */
  private readonly snapshots = new Map<string, Map<string, PreparedSnapshot>>();

  load<S = unknown>(stream: string, stateVersion: string): Promise<Snapshot<S> | undefined> {
    // A promise executor turns a thrown validation error into a rejection.
    return new Promise((resolve) => {
      assertStreamName(stream);
      assertStateVersion(stream, stateVersion);
      const stored = this.snapshots.get(stream)?.get(stateVersion);
      resolve(stored && loaded<S>(stored));
    });
  }

  save(stream: string, snapshot: Snapshot): Promise<void> {
    return new Promise((resolve) => {
      const prepared = prepareSnapshot(stream, snapshot);
      let byVersion = this.snapshots.get(stream);
      if (!byVersion) {
        byVersion = new Map();
        this.snapshots.set(stream, byVersion);
      }
      const current = byVersion.get(prepared.stateVersion);
      if (!current || current.revision <= prepared.revision) {
        byVersion.set(prepared.stateVersion, prepared);
      }
      resolve();
    });
  }

  delete(stream: string): Promise<void> {
    return new Promise((resolve) => {
      assertStreamName(stream);
      this.snapshots.delete(stream);
      resolve();
    });
  }

  deleteBySubject(subject: string): Promise<number> {
    return new Promise((resolve) => {
      assertSnapshotSubject(subject);
      let deleted = 0;
      for (const [stream, byVersion] of this.snapshots) {
        for (const [stateVersion, stored] of byVersion) {
          if (stored.subjects === null || stored.subjects.includes(subject)) {
            byVersion.delete(stateVersion);
            deleted += 1;
          }
        }
        if (byVersion.size === 0) this.snapshots.delete(stream);
      }
      resolve(deleted);
    });
  }
}

function loaded<S>(stored: PreparedSnapshot): Snapshot<S> {
  const snapshot: Snapshot<S> = {
    revision: stored.revision,
    stateVersion: stored.stateVersion,
    state: decodeJson<S>(stored.state),
    takenAt: new Date(stored.takenAt),
  };
  if (stored.subjects !== null) snapshot.subjects = [...stored.subjects];
  return snapshot;
}
