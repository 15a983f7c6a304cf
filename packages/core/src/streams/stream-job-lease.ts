import type { Clock } from '../core/clock.js';
import type { StoreTransaction } from '../store/event-store.js';
import type { Lease, LeaseStore } from '../subscriptions/lease-store.js';
import { MAX_SUBSCRIPTION_NAME_LENGTH } from '../subscriptions/validation.js';
import { InvalidStreamDefinitionError, StreamJobLeasedError } from './stream-errors.js';

/**
 * The lease of a stream job (`StreamJobOptions.lease`): while one instance of a job runs,
 * another started with the same name waits for it to stop (`wait: true`) or fails at once
 * with `StreamJobLeasedError`. Leases live in the subscriptions' lease store of the same
 * backend, under the name `stream-job:<job name>`.
 *
 * @example
 * ```ts
 * const storage = await backend.subscriptionStorage();
 * const job = new StreamJob({
 *   name: 'sales-per-minute',
 *   source: storeSource(backend.store),
 *   checkpoints: await backend.streamStateStore(),
 *   lease: { leases: storage.leases, wait: true },
 * });
 * ```
 */
export interface StreamJobLeaseOptions<Tx extends StoreTransaction = StoreTransaction> {
  /** The lease store: `storage.leases` of the backend's `subscriptionStorage()`. */
  leases: LeaseStore<Tx>;
  /**
   * How long the lease lasts unless renewed, in ms of the job's clock (default 30,000). The
   * job renews it every third of that (in real time); a process frozen for longer loses it to
   * a waiting instance, and its next commit is then refused.
   */
  ttlMs?: number;
  /**
   * When another instance holds the lease: `false` (default) makes `start()` fail with
   * `StreamJobLeasedError`; `true` makes it wait (state `'waiting-for-lease'`) and take the
   * job over once that instance stops or its lease runs out.
   */
  wait?: boolean;
  /** While waiting, how often to try for the lease, in ms (default 1,000). */
  retryIntervalMs?: number;
}

/** The prefix of stream jobs' lease names, which keeps them apart from subscriptions'. */
export const STREAM_JOB_LEASE_PREFIX = 'stream-job:';

/** A job's lease as the job holds it: taken, renewed, checked and given up. */
export class StreamJobLease<Tx extends StoreTransaction> {
  /** The name of the lease in the lease store. */
  readonly name: string;
  private readonly leases: LeaseStore<Tx>;
  private readonly ttlMs: number;
  private readonly wait: boolean;
  private readonly retryIntervalMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private renewing = false;

  constructor(
    private readonly job: string,
    options: StreamJobLeaseOptions<Tx>,
    private readonly context: {
      owner: string;
      clock: Clock;
      warn: (fields: Record<string, unknown>, message: string) => void;
    },
  ) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidStreamDefinitionError(
        'lease',
        'must be { leases, ttlMs?, wait?, retryIntervalMs? }',
      );
    const l = options.leases as Partial<LeaseStore<Tx>> | undefined;
    if (
      typeof l !== 'object' ||
      l === null ||
      typeof l.acquire !== 'function' ||
      typeof l.renew !== 'function' ||
      typeof l.release !== 'function'
    )
      throw new InvalidStreamDefinitionError(
        'lease.leases',
        "must be a lease store: the `leases` of the backend's subscriptionStorage()",
      );
    this.leases = options.leases;
    this.ttlMs = positiveMs('lease.ttlMs', options.ttlMs ?? 30_000);
    this.retryIntervalMs = positiveMs('lease.retryIntervalMs', options.retryIntervalMs ?? 1000);
    if (options.wait !== undefined && typeof options.wait !== 'boolean')
      throw new InvalidStreamDefinitionError('lease.wait', 'must be a boolean');
    this.wait = options.wait ?? false;
    this.name = STREAM_JOB_LEASE_PREFIX + job;
    if (this.name.length > MAX_SUBSCRIPTION_NAME_LENGTH)
      throw new InvalidStreamDefinitionError(
        'name',
        `a leased job's name must be at most ${MAX_SUBSCRIPTION_NAME_LENGTH - STREAM_JOB_LEASE_PREFIX.length} characters`,
      );
  }

  /**
   * Takes the lease. Without `wait`, fails if another instance holds it; with `wait`, tries
   * again every `retryIntervalMs` (calling `waiting` with the holder) until it gets it.
   * False when `signal` aborts first.
   *
   * @throws {StreamJobLeasedError}
   */
  async acquire(signal: AbortSignal, waiting: (holder: Lease) => void): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const got = await this.leases.acquire(
        this.name,
        this.context.owner,
        this.ttlMs,
        this.context.clock.now(),
      );
      if (got.acquired) return true;
      if (!this.wait)
        throw new StreamJobLeasedError(this.job, got.holder.owner, got.holder.expiresAt);
      waiting(got.holder);
      await pause(this.retryIntervalMs, signal);
    }
  }

  /** Inside `tx`, checks that this instance still holds the lease (throws `LeaseLostError`). */
  assertHeld(tx: Tx): Promise<void> {
    return this.leases.assertHeld(this.name, this.context.owner, tx);
  }

  /** Renews the lease every third of its time; calls `lost` once another owner has it. */
  keep(lost: () => void): void {
    this.stopRenewing();
    this.timer = setInterval(() => void this.renew(lost), Math.max(1, this.ttlMs / 3));
    this.timer.unref();
  }

  /** Stops renewing and gives the lease up (if this instance still holds it). */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.leases.release(this.name, this.context.owner).catch((error: unknown) => {
      this.context.warn({ job: this.job, err: error }, 'could not release the lease');
    });
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renew(lost: () => void): Promise<void> {
    if (this.renewing || !this.timer) return;
    this.renewing = true;
    try {
      const held = await this.leases.renew(
        this.name,
        this.context.owner,
        this.ttlMs,
        this.context.clock.now(),
      );
      if (!held && this.timer) {
        this.stopRenewing();
        lost();
      }
    } catch (error) {
      // The database may be briefly unreachable; the epoch checked at every commit keeps
      // this safe.
      this.context.warn({ job: this.job, err: error }, 'could not renew the lease');
    } finally {
      this.renewing = false;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function positiveMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new InvalidStreamDefinitionError(name, 'must be a whole number of milliseconds >= 1');
  return value;
}
