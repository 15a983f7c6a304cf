import type { StoreTransaction } from '../store/event-store.js';
import { afterCommit } from '../subscriptions/memory-checkpoint-store.js';
import type { ChainAnchors, ChainHeadAnchor, ChainStartAnchor } from './chain-anchor.js';
import {
  anchorPageSize,
  type ChainAnchorStore,
  type ListChainAnchorsOptions,
} from './chain-anchor-store.js';

/**
 * Chain anchors in process memory, beside a `MemoryEventStore`: a write given a transaction
 * applies when it commits. Lost with the process: for tests and demos.
 */
export class MemoryChainAnchorStore implements ChainAnchorStore {
  private readonly anchors = new Map<string, ChainAnchors>();

  saveHeads(heads: readonly ChainHeadAnchor[], tx?: StoreTransaction): Promise<void> {
    const copies = heads.map((h) => ({ ...h }));
    afterCommit(tx, () => {
      for (const head of copies)
        this.anchors.set(head.stream, {
          ...this.anchors.get(head.stream),
          stream: head.stream,
          head,
        });
    });
    return Promise.resolve();
  }

  saveStart(start: ChainStartAnchor, tx?: StoreTransaction): Promise<void> {
    const copy = { ...start };
    afterCommit(tx, () =>
      this.anchors.set(copy.stream, {
        ...this.anchors.get(copy.stream),
        stream: copy.stream,
        start: copy,
      }),
    );
    return Promise.resolve();
  }

  load(stream: string): Promise<ChainAnchors | undefined> {
    const found = this.anchors.get(stream);
    return Promise.resolve(found && structuredClone(found));
  }

  list(options: ListChainAnchorsOptions = {}): Promise<ChainAnchors[]> {
    const after = options.after;
    const page = [...this.anchors.keys()]
      .filter((name) => after === undefined || name > after)
      .sort()
      .slice(0, anchorPageSize(options))
      .map((name) => structuredClone(this.anchors.get(name) as ChainAnchors));
    return Promise.resolve(page);
  }
}
