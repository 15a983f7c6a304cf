import type { AppendResult } from './event-store.js';
import { BaseStoreTransaction } from './store-transaction.js';
import type { PreparedAppend } from './validation.js';

/**
 * A transaction for stores that write a whole transaction at commit (the memory store, or an
 * adapter keeping a journal): each append is planned at once against the committed state plus
 * the units accepted before it (`plan` returns the new unit's results, or its error), and the
 * accepted units wait in `staged` until the store writes them when the transaction commits.
 * The store must hold its write lock for the whole transaction, so the units plan at commit
 * exactly as they did when appended.
 */
export class StagingTransaction extends BaseStoreTransaction {
  /** The units accepted so far, in order. */
  readonly staged: PreparedAppend[][] = [];

  constructor(
    maxEventBytes: number,
    private readonly plan: (units: PreparedAppend[][]) => AppendResult[] | Error,
  ) {
    super(maxEventBytes);
  }

  protected writeUnit(unit: PreparedAppend[]): Promise<AppendResult[]> {
    const outcome = this.plan([...this.staged, unit]);
    if (outcome instanceof Error) return Promise.reject(outcome);
    this.staged.push(unit);
    return Promise.resolve(outcome);
  }
}
