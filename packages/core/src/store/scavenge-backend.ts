import type { Backend } from './backend.js';
import type { StoreTransaction } from './event-store.js';
import { undecorated } from './forwarding-event-store.js';
import {
  ScavengeUnsupportedError,
  isScavengeable,
  scavengeSettings,
  type ScavengeOptions,
  type ScavengeReport,
} from './scavenge.js';

/**
 * What `Backend.scavenge` runs: scavenges the backend's store (through its decorators, so a
 * layer that keeps state tied to removed events, such as the hash chain, takes part), then
 * deletes the snapshots of tombstoned streams whose events it removed, so no snapshot keeps
 * state folded from events that are gone.
 *
 * @throws ScavengeUnsupportedError when the adapter's store cannot scavenge.
 */
export async function scavengeBackend<Tx extends StoreTransaction>(
  backend: Pick<Backend<Tx>, 'kind' | 'store' | 'snapshotStore'>,
  options: ScavengeOptions = {},
): Promise<ScavengeReport> {
  const settings = scavengeSettings(options);
  const store = backend.store;
  if (!isScavengeable(store)) throw new ScavengeUnsupportedError(`of the ${backend.kind} backend`);
  const touched = new Set<string>();
  const report = await store.scavenge({
    ...options,
    onProgress: (progress) => {
      for (const stream of progress.streams) touched.add(stream);
      settings.onProgress?.(progress);
    },
  });
  if (report.dryRun) return report;
  let snapshotsCleared = 0;
  if (touched.size > 0) {
    const snapshots = await backend.snapshotStore();
    // The adapter's own store: a tenant view would refuse other tenants' streams.
    const raw = undecorated(store);
    for (const stream of touched) {
      if ((await raw.streamInfo(stream)).deleted !== 'hard') continue;
      await snapshots.delete(stream);
      snapshotsCleared += 1;
    }
  }
  return { ...report, snapshotsCleared };
}
