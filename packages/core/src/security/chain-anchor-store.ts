import type { StoreTransaction } from '../store/event-store.js';
import type { ChainAnchors, ChainHeadAnchor, ChainStartAnchor } from './chain-anchor.js';

/** Options of {@link ChainAnchorStore.list}. */
export interface ListChainAnchorsOptions {
  /** Continue after this stream name (exclusive). */
  after?: string;
  /** At most this many (default 1000). */
  limit?: number;
}

/**
 * Where the integrity layer keeps each chained stream's anchors (its head and, after a
 * scavenge, its start), in the event store's database: one row per stream in
 * `causeway_chain_anchors` (SQLite, PostgreSQL; component `integrity`), or process memory.
 * Writes given a transaction commit with it, so an append and its head anchor are one commit.
 * Made by a backend's `chainAnchorStore()`.
 */
export interface ChainAnchorStore<Tx extends StoreTransaction = StoreTransaction> {
  /** Replaces the head anchors of these streams (their start anchors are kept). */
  saveHeads(heads: readonly ChainHeadAnchor[], tx?: Tx): Promise<void>;
  /** Replaces the start anchor of its stream (its head anchor is kept). */
  saveStart(start: ChainStartAnchor, tx?: Tx): Promise<void>;
  /** The anchors of one stream, if any. */
  load(stream: string): Promise<ChainAnchors | undefined>;
  /** A page of every stream's anchors, by stream name. */
  list(options?: ListChainAnchorsOptions): Promise<ChainAnchors[]>;
}

/** Decodes a stored anchor row; a value that is not JSON is kept as `malformed`. */
export function decodeAnchorRow(
  stream: string,
  head: string | null,
  start: string | null,
): ChainAnchors {
  const anchors: ChainAnchors = { stream };
  try {
    if (head !== null) anchors.head = JSON.parse(head) as ChainHeadAnchor;
    if (start !== null) anchors.start = JSON.parse(start) as ChainStartAnchor;
  } catch {
    anchors.malformed = true;
  }
  return anchors;
}

/** The page size of {@link ChainAnchorStore.list}. */
export function anchorPageSize(options: ListChainAnchorsOptions = {}): number {
  const limit = options.limit ?? 1000;
  return Number.isSafeInteger(limit) && limit > 0 ? limit : 1000;
}
