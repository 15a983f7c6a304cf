import type { StoreTransaction } from '../store/event-store.js';
import type { InboxStore } from './inbox-store.js';
import { assertName } from './validation.js';

/** Inbox records in process memory, for the memory store; a record given a transaction applies on commit. */
export class MemoryInboxStore implements InboxStore {
  /** Processed-at times, by consumer, then event id. */
  private readonly records = new Map<string, Map<string, number>>();
  /** Records made inside transactions not yet committed, so a second one in the same sees it. */
  private readonly pending = new WeakMap<StoreTransaction, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  record(consumer: string, eventId: string, tx?: StoreTransaction): Promise<boolean> {
    return new Promise((resolve) => {
      assertName(consumer, 'consumer');
      assertName(eventId, 'eventId');
      const key = `${consumer}\u0000${eventId}`;
      if (this.records.get(consumer)?.has(eventId) || (tx && this.pending.get(tx)?.has(key))) {
        resolve(false);
        return;
      }
      const write = () => {
        let byId = this.records.get(consumer);
        if (!byId) this.records.set(consumer, (byId = new Map<string, number>()));
        byId.set(eventId, this.now());
      };
      if (tx) {
        let keys = this.pending.get(tx);
        if (!keys) {
          keys = new Set();
          this.pending.set(tx, keys);
        }
        keys.add(key);
        tx.onCommit(write);
      } else write();
      resolve(true);
    });
  }

  has(consumer: string, eventId: string): Promise<boolean> {
    return new Promise((resolve) => {
      assertName(consumer, 'consumer');
      assertName(eventId, 'eventId');
      resolve(this.records.get(consumer)?.has(eventId) ?? false);
    });
  }

  prune(consumer: string, before: Date): Promise<number> {
    return new Promise((resolve) => {
      assertName(consumer, 'consumer');
      const cutoff = before.getTime();
      const byId = this.records.get(consumer);
      let removed = 0;
      for (const [id, at] of byId ?? []) {
        if (at < cutoff) {
          byId?.delete(id);
          removed += 1;
        }
      }
      resolve(removed);
    });
  }
}
