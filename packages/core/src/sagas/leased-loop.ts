import type { Clock } from '../core/clock.js';
import type { StoreTransaction } from '../store/event-store.js';
import type { LeaseClaim, LeaseStore } from '../subscriptions/lease-store.js';
import { LeaseLostError } from '../subscriptions/subscription-errors.js';
import type { SubscriptionLogger } from '../subscriptions/subscription-options.js';
import { WakeSignal } from '../subscriptions/wake-signal.js';

/** Lease settings of a {@link LeasedLoop}; `false` runs it without a lease (one process only). */
export interface LoopLease<Tx extends StoreTransaction> {
  store: LeaseStore<Tx>;
  name: string;
  owner: string;
  ttlMs: number;
}

/**
 * A background loop that runs `tick` while this process holds a lease (so that in a group of
 * processes one runs it), again at once while `tick` finds work, otherwise after
 * `pollIntervalMs` or when woken. Its transactions fence with {@link LeasedLoop.fence}.
 */
export class LeasedLoop<Tx extends StoreTransaction> {
  private readonly wakeSignal = new WakeSignal();
  private running: Promise<void> | undefined;
  private stopping = false;
  private held = false;
  /** The lease as this loop took it: its owner and the epoch `acquire` gave (fencing). */
  private claim: LeaseClaim | undefined;
  private renewedAt = 0;

  constructor(
    private readonly label: string,
    private readonly lease: LoopLease<Tx> | false,
    private readonly clock: Clock,
    private readonly pollIntervalMs: number,
    private readonly tick: () => Promise<number>,
    private readonly logger?: SubscriptionLogger,
  ) {}

  /** Whether this process may run the loop's work now (holds the lease, or needs none). */
  get holds(): boolean {
    return this.lease === false || this.held;
  }

  /** Starts the loop (a no-op while it runs). */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Runs the loop's work soon. */
  wake(): void {
    this.wakeSignal.set();
  }

  /** Stops after the tick in hand and gives the lease up. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.stopping = true;
    this.wakeSignal.set();
    await running;
    this.running = undefined;
  }

  /**
   * Takes or renews the lease when due. Called before each tick; callable by hand (tests,
   * `runUntilIdle`) to see whether this process runs the work.
   */
  async ensureLease(): Promise<boolean> {
    const lease = this.lease;
    if (lease === false) return true;
    const now = this.clock.now();
    if (this.held && now - this.renewedAt < lease.ttlMs / 3) return true;
    try {
      if (this.held && this.claim) {
        this.held = await lease.store.renew(lease.name, this.claim, lease.ttlMs, now);
      }
      if (!this.held) {
        const got = await lease.store.acquire(lease.name, lease.owner, lease.ttlMs, now);
        this.held = got.acquired;
        this.claim = got.acquired ? { owner: lease.owner, epoch: got.epoch } : undefined;
      }
      if (this.held) this.renewedAt = now;
    } catch (error) {
      this.held = false;
      this.claim = undefined;
      this.logger?.warn({ loop: this.label, err: error }, 'could not take the lease');
    }
    return this.held;
  }

  /**
   * Inside `tx`, checks the lease is still this loop's, at the epoch it took it at (throws
   * `LeaseLostError` if not): a loop that lost its lease, even to one with the same owner name
   * (a restarted process), commits nothing.
   */
  async fence(tx: Tx): Promise<void> {
    if (this.lease === false) return;
    // No claim: the lease was never taken, or a renewal failed and it may have changed hands
    // since, even to a run with the same owner name, which the owner alone would let through.
    if (!this.claim) throw new LeaseLostError(this.lease.name, this.lease.owner);
    await this.lease.store.assertHeld(this.lease.name, this.claim, tx);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let found = 0;
      // Reset before the pass: a wake during it then ends the wait at once.
      this.wakeSignal.reset();
      try {
        if (await this.ensureLease()) found = await this.tick();
      } catch (error) {
        this.logger?.error({ loop: this.label, err: error }, 'loop pass failed; trying again');
      }
      if (this.stopping) break;
      if (found === 0) await this.wakeSignal.wait(this.pollIntervalMs);
    }
    if (this.lease !== false && this.held) {
      this.held = false;
      const holder = this.claim ?? this.lease.owner;
      this.claim = undefined;
      await this.lease.store.release(this.lease.name, holder).catch(() => undefined);
    }
  }
}
