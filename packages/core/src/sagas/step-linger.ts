import type { CommitListener, EventStore } from '../store/event-store.js';
import type { WakeGate } from '../subscriptions/subscription-options.js';

/**
 * Holds back the commit notifications a saga runtime's subscriptions wake on while its outbox
 * has commands out, so that one step transaction takes the events of several commits.
 *
 * Why: a dispatched command's events commit in the store's group commit; the subscription,
 * woken by that commit, starts its transaction before the next wave of dispatches reaches the
 * store, so each wave costs two commits (the commands' appends, then the saga's step). Held
 * back for up to `lingerMs` while commands are out, the next waves commit first and one step
 * transaction handles all their events (on SQLite, one fsync for several waves).
 *
 * A notification is held only while {@link StepLinger.busy} is true; it goes through at once
 * when nothing is out, when the outbox goes idle ({@link StepLinger.release}), or once
 * `lingerMs` has passed since the first one held, whichever comes first. `committed === 0`
 * (the store closing) is never held.
 */
export class StepLinger implements WakeGate {
  private readonly held = new Set<() => void>();
  private inFlight = 0;
  private releaseCheck = false;

  /** @param lingerMs Longest a notification is held, in ms; 0 holds none. */
  constructor(private readonly lingerMs: number) {}

  /** Whether commands are out (notifications are then held). */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** A command went out. */
  started(): void {
    this.inFlight += 1;
  }

  /**
   * A command came back (accepted, rejected or failed). When none is left out, what is held
   * goes once this turn of the event loop is over and still none is out: the commands of a
   * wave come back together, and the outbox sends the next ones within the same turn.
   */
  finished(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight > 0 || this.held.size === 0 || this.releaseCheck) return;
    this.releaseCheck = true;
    setImmediate(() => {
      this.releaseCheck = false;
      if (this.inFlight === 0) this.release();
    });
  }

  /** Delivers every held notification now. */
  release(): void {
    for (const deliver of [...this.held]) deliver();
  }

  /**
   * Watches `store` for `listener` through this linger (the runtime's subscriptions take it
   * as their `wakeGate`).
   */
  watch(store: Pick<EventStore, 'watch'>, listener: CommitListener): () => void {
    if (this.lingerMs === 0) return store.watch?.(listener) ?? (() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let highest = 0;
    const deliver = () => {
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      this.held.delete(deliver);
      listener(highest);
    };
    const unwatch = store.watch?.((committed) => {
      if (committed === 0 || !this.busy) {
        if (timer !== undefined) deliver();
        listener(committed);
        return;
      }
      highest = Math.max(highest, committed);
      if (timer !== undefined) return;
      timer = setTimeout(deliver, this.lingerMs);
      this.held.add(deliver);
    });
    return () => {
      clearTimeout(timer);
      timer = undefined;
      this.held.delete(deliver);
      unwatch?.();
    };
  }
}
