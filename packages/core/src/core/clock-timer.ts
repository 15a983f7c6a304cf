import type { Clock } from './clock.js';

/** The longest delay `setTimeout` takes; longer ones would fire at once. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * A one-shot timer set for a time on a {@link Clock} rather than for a delay: it calls its
 * callback once the clock reads the due time or later. Two things make it look at the clock:
 *
 * - a real timer, set for the time left; when it goes off the timer reads the clock again and,
 *   if the due time has not come (a `ManualClock` that was not moved, a wall clock stepped
 *   back), waits again for what is left. With the system clock it fires on time.
 * - {@link ClockTimer.fireIfDue}, which reads the clock now: tests call it (usually through
 *   their owner, such as `InProcessBus.redeliverDue()`) right after moving a `ManualClock`,
 *   so nothing waits on real time.
 *
 * The callback runs at most once per {@link ClockTimer.setAt}. The real timer keeps the
 * process alive while set, as any pending work does; {@link ClockTimer.cancel} clears it.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * const timer = new ClockTimer(clock, () => fireDue());
 * timer.setAt(500);
 * clock.advance(500);
 * timer.fireIfDue(); // logs 'due', returns true
 * ```
 */
export class ClockTimer {
  private at: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
  ) {}

  /** The clock time the timer is set for, or `undefined` when it is not set. */
  get dueAt(): number | undefined {
    return this.at;
  }

  /** Sets the timer for clock time `at` (ms since the epoch), replacing any earlier setting. */
  setAt(at: number): void {
    this.cancel();
    this.at = at;
    this.arm();
  }

  /** Calls the callback now if the timer is set and the clock has reached its time. */
  fireIfDue(): boolean {
    const at = this.at;
    if (at === undefined || this.clock.now() < at) return false;
    this.cancel();
    this.onDue();
    return true;
  }

  /** Unsets the timer; the callback is not called. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = undefined;
  }

  private arm(): void {
    const at = this.at as number;
    const left = Math.min(MAX_TIMER_DELAY_MS, Math.max(1, at - this.clock.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // The clock, not the real timer, says whether the time has come.
      if (!this.fireIfDue() && this.at !== undefined) this.arm();
    }, left);
  }
}
