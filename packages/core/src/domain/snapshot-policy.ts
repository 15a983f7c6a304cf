import { InvalidArgumentError } from '../core/errors.js';

/** What a {@link SnapshotPolicy} is told after a command appended events. */
export interface SnapshotDecisionInput {
  stream: string;
  /** The stream's revision after the append. */
  revision: number;
  /** Revision covered by the snapshot the state was loaded from, or -1 if none was used. */
  snapshotRevision: number;
  /** Events appended by this command. */
  appended: number;
}

/**
 * When a command handler saves a snapshot on its own, after a successful append. Snapshots
 * can always be taken explicitly with `handler.snapshot(stream)`, whatever the policy.
 */
export interface SnapshotPolicy {
  /** True to save the state just reached as a snapshot. */
  shouldSnapshot(input: SnapshotDecisionInput): boolean;
}

/**
 * Saves a snapshot once `n` or more events have been appended since the snapshot the state
 * was loaded from (or since the start of the stream), so a load never folds more than about
 * `n` events.
 *
 * @throws {InvalidArgumentError} unless `n` is an integer >= 1.
 * @example
 * ```ts
 * snapshots: { store, stateVersion: 'order@2', policy: everyNEvents(100) }
 * ```
 */
export function everyNEvents(n: number): SnapshotPolicy {
  if (!(Number.isSafeInteger(n) && n >= 1)) {
    throw new InvalidArgumentError('everyNEvents(n)', 'n must be an integer >= 1');
  }
  return { shouldSnapshot: ({ revision, snapshotRevision }) => revision - snapshotRevision >= n };
}

/**
 * Never saves a snapshot on its own: only `handler.snapshot(stream)` does, e.g. from a
 * maintenance job or after a known long stream of events.
 */
export function explicitSnapshots(): SnapshotPolicy {
  return { shouldSnapshot: () => false };
}
