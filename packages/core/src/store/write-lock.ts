/**
 * An asynchronous mutex that hands the lock over in arrival order. Stores whose connection
 * cannot run two write transactions at once (memory, SQLite) hold it around every write,
 * including a whole `transaction()`, so nothing else writes while a transaction's callback is
 * awaiting something.
 */
export class WriteLock {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  /** True while someone holds the lock. */
  get locked(): boolean {
    return this.held;
  }

  /** How many callers are waiting for the lock. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes the lock if it is free, without waiting. */
  tryAcquire(): boolean {
    if (this.held) return false;
    this.held = true;
    return true;
  }

  /** Resolves once the caller holds the lock. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Passes the lock to the next waiter, or frees it. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }

  /** Runs `work` holding the lock. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (!this.tryAcquire()) await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }
}
