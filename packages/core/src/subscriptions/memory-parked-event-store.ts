import type { StoreTransaction } from '../store/event-store.js';
import { afterCommit } from './memory-checkpoint-store.js';
import {
  prepareParkEntry,
  resolveListOptions,
  type ListParkedOptions,
  type ParkEntry,
  type ParkedEvent,
  type ParkedEventStore,
  type ParkedSelection,
} from './parked-event-store.js';
import { assertName, checkSelection } from './validation.js';

/** Parked events in process memory, for the memory store; writes given a transaction apply on commit. */
export class MemoryParkedEventStore implements ParkedEventStore {
  /** By subscription, then position. */
  private readonly parked = new Map<string, Map<number, ParkedEvent>>();

  park(subscription: string, entry: ParkEntry, tx?: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      assertName(subscription, 'subscription');
      const e = prepareParkEntry(entry);
      afterCommit(tx, () => {
        let byPosition = this.parked.get(subscription);
        if (!byPosition)
          this.parked.set(subscription, (byPosition = new Map<number, ParkedEvent>()));
        byPosition.set(e.position, {
          ...e,
          error: { ...e.error },
          parkedAt: new Date(e.parkedAt),
          subscription,
          retryRequested: false,
        });
      });
      resolve();
    });
  }

  list(subscription: string, options: ListParkedOptions = {}): Promise<ParkedEvent[]> {
    return new Promise((resolve) => {
      assertName(subscription, 'subscription');
      const { after, limit, retryRequested } = resolveListOptions(options);
      const all = [...(this.parked.get(subscription)?.values() ?? [])]
        .filter((p) => p.position > after)
        .filter((p) => retryRequested === undefined || p.retryRequested === retryRequested)
        .sort((a, b) => a.position - b.position)
        .slice(0, limit);
      resolve(all.map((p) => ({ ...p, error: { ...p.error }, parkedAt: new Date(p.parkedAt) })));
    });
  }

  count(subscription: string): Promise<number> {
    return new Promise((resolve) => {
      assertName(subscription, 'subscription');
      resolve(this.parked.get(subscription)?.size ?? 0);
    });
  }

  requestRetry(
    subscription: string,
    which: ParkedSelection,
    tx?: StoreTransaction,
  ): Promise<number> {
    return new Promise((resolve) => {
      assertName(subscription, 'subscription');
      const chosen = this.select(subscription, checkSelection(which));
      afterCommit(tx, () => {
        for (const p of chosen) p.retryRequested = true;
      });
      resolve(chosen.length);
    });
  }

  remove(subscription: string, which: ParkedSelection, tx?: StoreTransaction): Promise<number> {
    return new Promise((resolve) => {
      assertName(subscription, 'subscription');
      const chosen = this.select(subscription, checkSelection(which));
      afterCommit(tx, () => {
        for (const p of chosen) {
          const byPosition = this.parked.get(subscription);
          if (byPosition?.get(p.position) === p) byPosition.delete(p.position);
        }
      });
      resolve(chosen.length);
    });
  }

  private select(subscription: string, which: number[] | 'all'): ParkedEvent[] {
    const byPosition = this.parked.get(subscription);
    if (!byPosition) return [];
    if (which === 'all') return [...byPosition.values()];
    return which.flatMap((p) => byPosition.get(p) ?? []);
  }
}
