/**
 * A level-triggered wake-up for one waiter: `set()` before or during `wait()` ends the wait;
 * `reset()` forgets earlier `set()`s. The timer of a wait is an ordinary one: a running
 * subscription keeps its process alive, as a server does, until it is stopped.
 */
export class WakeSignal {
  private pending = false;
  private waiter: (() => void) | undefined;

  /** Wakes the waiter, or the next `wait()` if none is waiting. */
  set(): void {
    this.pending = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Forgets `set()` calls made so far. */
  reset(): void {
    this.pending = false;
  }

  /** Resolves at the next `set()` (at once if one is pending) or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiter = done;
    });
  }
}
