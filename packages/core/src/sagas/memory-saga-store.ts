import { InvalidArgumentError } from '../core/errors.js';
import type { StoreTransaction } from '../store/event-store.js';
import {
  assertSagaKey,
  assertTimer,
  compare,
  resolveListInstances,
  toInstanceView,
} from './saga-records.js';
import {
  DEFAULT_SAGA_LIST_LIMIT,
  type CommandSettlement,
  type ListCommandsOptions,
  type NewOutboxEntry,
  type OutboxEntry,
  type OutboxUpdate,
  type SagaInstanceRecord,
  type SagaStore,
  type SagaTimerRecord,
} from './saga-store.js';
import type { SagaHistoryEntry, SagaInstanceView, SagaQuery, SagaStatus } from './saga-view.js';

/** An instance as kept: the record (its `newHistory` empty) and its history. */
interface Stored {
  record: SagaInstanceRecord;
  history: SagaHistoryEntry[];
}

/** What a transaction has written and not yet committed. */
interface Pending {
  instances: Map<string, Stored>;
  timersAdded: Map<string, SagaTimerRecord>;
  timersTaken: Set<string>;
  commands: Set<string>;
}

const key = (saga: string, id: string) => `${saga}\u0000${id}`;

/**
 * Saga instances, timers and the command outbox in process memory, beside a
 * `MemoryEventStore`: writes given a transaction apply when it commits (the memory store runs
 * one transaction at a time), and reads given it see its own writes. For tests and
 * single-process tools; everything is lost with the process.
 */
export class MemorySagaStore implements SagaStore {
  private readonly instances = new Map<string, Stored>();
  private readonly timers = new Map<string, SagaTimerRecord>();
  private readonly outbox = new Map<string, OutboxEntry>();
  private seq = 0;
  private readonly pending = new WeakMap<StoreTransaction, Pending>();

  loadInstance(
    saga: string,
    id: string,
    tx?: StoreTransaction,
  ): Promise<SagaInstanceRecord | undefined> {
    return attempt(() => {
      assertSagaKey(saga, id);
      const found = this.stored(saga, id, tx);
      return found && structuredClone(found.record);
    });
  }

  saveInstance(record: SagaInstanceRecord, tx: StoreTransaction): Promise<void> {
    return attempt(() => {
      assertSagaKey(record.saga, record.id);
      const k = key(record.saga, record.id);
      const pending = this.pendingOf(tx);
      const before = this.stored(record.saga, record.id, tx);
      const stored: Stored = {
        record: { ...structuredClone(record), newHistory: [] },
        history: [...(before?.history ?? []), ...structuredClone(record.newHistory)],
      };
      pending.instances.set(k, stored);
      tx.onCommit(() => this.instances.set(k, stored));
    });
  }

  async loadInstances(
    saga: string,
    ids: readonly string[],
    tx: StoreTransaction,
  ): Promise<SagaInstanceRecord[]> {
    const found: SagaInstanceRecord[] = [];
    for (const id of ids) {
      const record = await this.loadInstance(saga, id, tx);
      if (record) found.push(record);
    }
    return found;
  }

  async saveInstances(records: readonly SagaInstanceRecord[], tx: StoreTransaction): Promise<void> {
    for (const record of records) await this.saveInstance(record, tx);
  }

  loadHistory(saga: string, id: string, tx?: StoreTransaction): Promise<SagaHistoryEntry[]> {
    return attempt(() => {
      assertSagaKey(saga, id);
      return structuredClone(this.stored(saga, id, tx)?.history ?? []);
    });
  }

  addTimer(timer: SagaTimerRecord, tx: StoreTransaction): Promise<void> {
    return attempt(() => {
      assertTimer(timer);
      const p = this.pendingOf(tx);
      if (this.timers.has(timer.id) || p.timersAdded.has(timer.id)) return;
      const copy = structuredClone(timer);
      p.timersAdded.set(timer.id, copy);
      p.timersTaken.delete(timer.id);
      tx.onCommit(() => {
        if (!this.timers.has(copy.id)) this.timers.set(copy.id, copy);
      });
    });
  }

  takeTimer(id: string, tx: StoreTransaction): Promise<SagaTimerRecord | undefined> {
    return attempt(() => {
      const p = this.pendingOf(tx);
      if (p.timersTaken.has(id)) return undefined;
      const found = p.timersAdded.get(id) ?? this.timers.get(id);
      if (!found) return undefined;
      p.timersTaken.add(id);
      p.timersAdded.delete(id);
      tx.onCommit(() => this.timers.delete(id));
      return structuredClone(found);
    });
  }

  timersOf(saga: string, instanceId: string, tx?: StoreTransaction): Promise<SagaTimerRecord[]> {
    return attempt(() => {
      assertSagaKey(saga, instanceId);
      const p = tx && this.pending.get(tx);
      const all = new Map(this.timers);
      for (const [id, t] of p?.timersAdded ?? []) all.set(id, t);
      for (const id of p?.timersTaken ?? []) all.delete(id);
      return [...all.values()]
        .filter((t) => t.saga === saga && t.instanceId === instanceId)
        .sort((a, b) => a.dueAt - b.dueAt || compare(a.id, b.id))
        .map((t) => structuredClone(t));
    });
  }

  dueTimers(now: number, limit: number, sagas?: readonly string[]): Promise<SagaTimerRecord[]> {
    return attempt(() => {
      assertLimit(limit);
      const only = sagas && new Set(sagas);
      return [...this.timers.values()]
        .filter((t) => t.dueAt <= now && (!only || only.has(t.saga)))
        .sort((a, b) => a.dueAt - b.dueAt || compare(a.id, b.id))
        .slice(0, limit)
        .map((t) => structuredClone(t));
    });
  }

  enqueue(entries: readonly NewOutboxEntry[], tx: StoreTransaction): Promise<void> {
    return attempt(() => {
      const p = this.pendingOf(tx);
      const fresh: NewOutboxEntry[] = [];
      for (const entry of entries) {
        const id = entry.command.id;
        if (this.outbox.has(id) || p.commands.has(id)) continue;
        p.commands.add(id);
        fresh.push(structuredClone(entry));
      }
      tx.onCommit(() => {
        for (const entry of fresh) {
          if (this.outbox.has(entry.command.id)) continue;
          this.outbox.set(entry.command.id, {
            ...entry,
            seq: ++this.seq,
            status: 'pending',
            attempts: 0,
            lastError: null,
            nextAttemptAt: entry.createdAt,
            settledAt: null,
            reply: null,
          });
        }
      });
    });
  }

  pendingCommands(limit: number, sources?: readonly string[]): Promise<OutboxEntry[]> {
    return attempt(() => {
      assertLimit(limit);
      const only = sources && new Set(sources);
      const found: OutboxEntry[] = [];
      // A Map iterates in insertion order, which is the order of `seq`.
      for (const entry of this.outbox.values()) {
        if (entry.status !== 'pending' || (only && !only.has(entry.source))) continue;
        found.push(structuredClone(entry));
        if (found.length === limit) break;
      }
      return found;
    });
  }

  settleCommand(commandId: string, update: OutboxUpdate, tx?: StoreTransaction): Promise<void> {
    return attempt(() => {
      const copy = structuredClone(update);
      const apply = () => {
        const entry = this.outbox.get(commandId);
        if (entry) Object.assign(entry, copy);
      };
      if (tx) tx.onCommit(apply);
      else apply();
    });
  }

  async settleCommands(
    settlements: readonly CommandSettlement[],
    tx?: StoreTransaction,
  ): Promise<void> {
    for (const { commandId, update } of settlements)
      await this.settleCommand(commandId, update, tx);
  }

  listCommands(options: ListCommandsOptions = {}): Promise<OutboxEntry[]> {
    return attempt(() => {
      const limit = options.limit ?? DEFAULT_SAGA_LIST_LIMIT;
      assertLimit(limit);
      const found: OutboxEntry[] = [];
      for (const entry of this.outbox.values()) {
        if (options.after !== undefined && entry.seq <= options.after) continue;
        if (options.source !== undefined && entry.source !== options.source) continue;
        if (options.instanceId !== undefined && entry.instanceId !== options.instanceId) continue;
        if (options.status !== undefined && entry.status !== options.status) continue;
        found.push(structuredClone(entry));
        if (found.length === limit) break;
      }
      return found;
    });
  }

  listInstances(options?: Parameters<SagaQuery['listInstances']>[0]): Promise<SagaInstanceView[]> {
    return attempt(() => {
      const o = resolveListInstances(options);
      return [...this.instances.values()]
        .filter(
          ({ record: r }) =>
            (o.saga === undefined || r.saga === o.saga) &&
            (o.status === undefined || r.status === o.status) &&
            (o.after === undefined || compare(r.id, o.after) > 0),
        )
        .sort((a, b) => compare(a.record.id, b.record.id) || compare(a.record.saga, b.record.saga))
        .slice(0, o.limit)
        .map((stored) => this.viewOf(stored));
    });
  }

  countInstances(options?: { saga?: string; status?: SagaStatus }): Promise<number> {
    return attempt(() => {
      const o = resolveListInstances(options);
      let count = 0;
      for (const { record: r } of this.instances.values())
        if (
          (o.saga === undefined || r.saga === o.saga) &&
          (o.status === undefined || r.status === o.status)
        )
          count++;
      return count;
    });
  }

  getInstance(saga: string, id: string): Promise<SagaInstanceView | undefined> {
    return attempt(() => {
      assertSagaKey(saga, id);
      const stored = this.instances.get(key(saga, id));
      return stored && this.viewOf(stored);
    });
  }

  /** The instance as `tx` sees it (its own writes first), or as committed without one. */
  private stored(saga: string, id: string, tx?: StoreTransaction): Stored | undefined {
    const k = key(saga, id);
    return (tx && this.pending.get(tx)?.instances.get(k)) ?? this.instances.get(k);
  }

  private viewOf({ record: r, history }: Stored): SagaInstanceView {
    const timers = [...this.timers.values()].filter(
      (t) => t.saga === r.saga && t.instanceId === r.id,
    );
    return toInstanceView(r, history, timers);
  }

  private pendingOf(tx: StoreTransaction): Pending {
    if (!tx.active)
      throw new InvalidArgumentError('tx', 'the transaction has already committed or rolled back');
    let p = this.pending.get(tx);
    if (!p) {
      p = {
        instances: new Map(),
        timersAdded: new Map(),
        timersTaken: new Set(),
        commands: new Set(),
      };
      this.pending.set(tx, p);
    }
    return p;
  }
}

/** Runs `work` as a promise, so a thrown argument error rejects rather than throws. */
function attempt<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new InvalidArgumentError('limit', 'must be an integer >= 1');
}
