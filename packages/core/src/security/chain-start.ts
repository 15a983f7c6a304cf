import type { KeyObject } from 'node:crypto';
import type { RecordedEvent } from '../core/envelope.js';
import type { StoreTransaction } from '../store/event-store.js';
import { sealAnchor, type ChainStartAnchor } from './chain-anchor.js';
import type { ChainAnchorStore } from './chain-anchor-store.js';
import { readIntegrity } from './hash-chain.js';

/** Options of {@link recordChainStart}. */
export interface RecordChainStartOptions<Tx extends StoreTransaction = StoreTransaction> {
  /** The store of anchors (a backend's `chainAnchorStore()`). */
  anchors: ChainAnchorStore<Tx>;
  /** The scavenge's transaction: the anchor commits with the removal. */
  tx?: Tx;
  /** The last event removed from its stream, as stored (its `metadata.integrity` intact). */
  lastRemoved: Pick<RecordedEvent, 'stream' | 'revision' | 'metadata'>;
  /** Ed25519 private key: the anchor is signed like the links. */
  signingKey?: KeyObject;
  keyId?: string;
}

/**
 * Moves a stream's chain start past `lastRemoved`: the first kept revision is
 * `lastRemoved.revision + 1`, and its `prev` must be `lastRemoved`'s hash. A scavenge calls it
 * in the transaction that removes a stream's first events (every event, for a tombstoned
 * stream), so `verifyStore` tells that legitimate removal from deleted rows. Returns the
 * anchor written, or undefined when `lastRemoved` was never chained (nothing to anchor).
 *
 * @example
 * ```ts
 * await store.transaction(async (tx) => {
 *   // ...delete the stream's events up to `last`, then:
 *   await recordChainStart({ anchors, tx, lastRemoved: last, signingKey });
 * });
 * ```
 */
export async function recordChainStart<Tx extends StoreTransaction>(
  options: RecordChainStartOptions<Tx>,
): Promise<ChainStartAnchor | undefined> {
  const { anchors, tx, lastRemoved } = options;
  const integrity = readIntegrity(lastRemoved.metadata.integrity);
  if (!integrity) return undefined;
  const start = sealAnchor<ChainStartAnchor>(
    'start',
    { stream: lastRemoved.stream, revision: lastRemoved.revision + 1, prev: integrity.hash },
    { key: options.signingKey, keyId: options.keyId },
  );
  await anchors.saveStart(start, tx);
  return start;
}
