import type { EventInput } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  StoreTransaction,
} from './event-store.js';
import { prepareAppend, prepareAppendMany, type PreparedAppend } from './validation.js';

/**
 * What every adapter's transaction shares: argument checking, one append at a time, the
 * commit callbacks and the ended state. The adapter writes a checked unit with `writeUnit`.
 */
export abstract class BaseStoreTransaction implements StoreTransaction {
  private ended = false;
  private readonly callbacks: (() => void)[] = [];
  private readonly durableCallbacks: (() => void)[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  /** Highest position appended by this transaction, 0 if none. */
  lastPosition = 0;

  protected constructor(private readonly maxEventBytes: number) {}

  /**
   * Writes one unit (an append, or an appendMany's parts) in the transaction: all of it or,
   * when it fails (the unit's own error is thrown), none of it.
   */
  protected abstract writeUnit(unit: PreparedAppend[]): Promise<AppendResult[]>;

  get active(): boolean {
    return !this.ended;
  }

  async append(
    stream: string,
    events: readonly EventInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertActive();
    const prepared = prepareAppend(
      stream,
      events,
      options.expectedRevision === undefined ? 'any' : options.expectedRevision,
      this.maxEventBytes,
    );
    const [result] = await this.write([prepared]);
    if (!result) throw new Error('internal: append produced no result');
    return result;
  }

  async appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    this.assertActive();
    return this.write(prepareAppendMany(requests, this.maxEventBytes));
  }

  onCommit(callback: () => void): void {
    this.assertActive();
    if (typeof callback !== 'function')
      throw new InvalidArgumentError('callback', 'onCommit needs a function');
    this.callbacks.push(callback);
  }

  onDurable(callback: () => void): void {
    this.assertActive();
    if (typeof callback !== 'function')
      throw new InvalidArgumentError('callback', 'onDurable needs a function');
    this.durableCallbacks.push(callback);
  }

  /** Marks the transaction ended: later use throws. Called by the adapter before COMMIT. */
  end(): void {
    this.ended = true;
  }

  /** Runs the commit callbacks; rethrows the first error once all have run. */
  committed(): void {
    runAll(this.callbacks);
  }

  /** Runs the callbacks of a durable commit; rethrows the first error once all have run. */
  madeDurable(): void {
    runAll(this.durableCallbacks);
  }

  protected assertActive(): void {
    if (this.ended)
      throw new InvalidArgumentError(
        'transaction',
        'it has already committed or rolled back; use it only inside its callback',
      );
  }

  /** Units are written one after another even if the caller starts several at once. */
  private write(unit: PreparedAppend[]): Promise<AppendResult[]> {
    const run = this.chain.then(
      () => this.writeNow(unit),
      () => this.writeNow(unit),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async writeNow(unit: PreparedAppend[]): Promise<AppendResult[]> {
    this.assertActive();
    const results = await this.writeUnit(unit);
    for (const r of results) if (r.position > this.lastPosition) this.lastPosition = r.position;
    return results;
  }
}

/** Runs every callback, in order; rethrows the first error once all have run. */
function runAll(callbacks: readonly (() => void)[]): void {
  let failure: { error: unknown } | undefined;
  for (const callback of callbacks) {
    try {
      callback();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
