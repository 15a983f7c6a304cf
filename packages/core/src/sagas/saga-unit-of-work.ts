import type { StoreTransaction } from '../store/event-store.js';
import type { NewOutboxEntry, SagaInstanceRecord, SagaStore } from './saga-store.js';

const keyOf = (saga: string, id: string) => `${saga}\u0000${id}`;

/**
 * What one transaction of the saga runtime has read and is to write. Each instance is read
 * once per transaction and then kept in hand (the transaction holds it: on PostgreSQL its row
 * is locked until the end), so a second event of the same instance in a batch costs no read.
 *
 * Deferred (a subscription's batch): saves and outbox commands are kept until
 * {@link SagaUnitOfWork.flush}, which writes every changed instance once and every command in
 * one call, in the order they were recorded; the instances of the batch are read with one call
 * first ({@link SagaUnitOfWork.preload}). Immediate (one event, a timer, a dispatch outcome):
 * each write goes to the store at once, and only the reads are saved.
 *
 * Nothing here outlives its transaction: a rolled-back transaction takes its unit with it.
 */
export class SagaUnitOfWork<Tx extends StoreTransaction = StoreTransaction> {
  private readonly records = new Map<string, SagaInstanceRecord | null>();
  private readonly dirty = new Map<string, SagaInstanceRecord>();
  private readonly outbox: NewOutboxEntry[] = [];

  constructor(
    private readonly store: SagaStore<Tx>,
    readonly tx: Tx,
    readonly deferred: boolean,
  ) {}

  /**
   * Reads the instances `ids` of `saga` in one call when the store can (on PostgreSQL, locking
   * them in id order, the order every other transaction of the runtime locks in), one by one
   * in id order when it cannot.
   */
  async preload(saga: string, ids: readonly string[]): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.records.has(keyOf(saga, id))).sort();
    if (wanted.length === 0) return;
    if (this.store.loadInstances) {
      const found = await this.store.loadInstances(saga, wanted, this.tx);
      for (const id of wanted) this.records.set(keyOf(saga, id), null);
      for (const record of found) this.records.set(keyOf(saga, record.id), record);
      return;
    }
    for (const id of wanted)
      this.records.set(keyOf(saga, id), (await this.store.loadInstance(saga, id, this.tx)) ?? null);
  }

  /** The instance as this transaction has it, read from the store the first time. */
  async load(saga: string, id: string): Promise<SagaInstanceRecord | undefined> {
    const key = keyOf(saga, id);
    const known = this.records.get(key);
    if (known !== undefined) return known ?? undefined;
    const record = await this.store.loadInstance(saga, id, this.tx);
    this.records.set(key, record ?? null);
    return record;
  }

  /**
   * Saves the instance: now, or at {@link SagaUnitOfWork.flush} when deferred. Once saved, its
   * `newHistory` starts again empty: what was in it is stored and is not appended twice.
   */
  async save(record: SagaInstanceRecord): Promise<void> {
    const key = keyOf(record.saga, record.id);
    this.records.set(key, record);
    if (this.deferred) this.dirty.set(key, record);
    else {
      await this.store.saveInstance(record, this.tx);
      record.newHistory = [];
    }
  }

  /** Records commands in the outbox: now, or at {@link SagaUnitOfWork.flush} when deferred. */
  async enqueue(entries: readonly NewOutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (this.deferred) this.outbox.push(...entries);
    else await this.store.enqueue(entries, this.tx);
  }

  /** Writes what was deferred: the commands (in recording order), then each changed instance once. */
  async flush(): Promise<void> {
    if (this.outbox.length > 0) await this.store.enqueue(this.outbox.splice(0), this.tx);
    if (this.dirty.size === 0) return;
    const records = [...this.dirty.values()];
    this.dirty.clear();
    if (this.store.saveInstances) await this.store.saveInstances(records, this.tx);
    else for (const record of records) await this.store.saveInstance(record, this.tx);
    for (const record of records) record.newHistory = [];
  }
}
