import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, systemClock, type Clock } from '@causewayjs/core';
import { ClockTimer } from '@causewayjs/core/internals';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');

describe('ClockTimer', () => {
  let clock: ManualClock;
  let fired: number;
  let timer: ClockTimer;

  beforeEach(() => {
    clock = new ManualClock(T0);
    fired = 0;
    timer = new ClockTimer(clock, () => (fired += 1));
  });
  afterEach(() => {
    timer.cancel();
    vi.useRealTimers();
  });

  it('fires once the clock reaches its time, and only once', () => {
    timer.setAt(T0 + 500);
    expect(timer.dueAt).toBe(T0 + 500);
    clock.advance(499);
    expect(timer.fireIfDue()).toBe(false);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(timer.fireIfDue()).toBe(true);
    expect(fired).toBe(1);
    expect(timer.dueAt).toBeUndefined();
    clock.advance(10_000);
    expect(timer.fireIfDue()).toBe(false);
    expect(fired).toBe(1);
  });

  it('replaces its time when set again, and forgets it when cancelled', () => {
    timer.setAt(T0 + 100);
    timer.setAt(T0 + 300);
    clock.advance(200);
    expect(timer.fireIfDue()).toBe(false);
    clock.advance(100);
    timer.cancel();
    expect(timer.dueAt).toBeUndefined();
    expect(timer.fireIfDue()).toBe(false);
    expect(fired).toBe(0);
  });

  it('fires at once when set for a time already past', () => {
    timer.setAt(T0 - 1);
    expect(timer.fireIfDue()).toBe(true);
    expect(fired).toBe(1);
  });

  it('goes by the clock when its real timer goes off', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    timer.setAt(T0 + 500);
    // Real time passes, the clock does not: the timer waits on.
    vi.advanceTimersByTime(60_000);
    expect(fired).toBe(0);
    expect(vi.getTimerCount()).toBe(1);
    clock.advance(500);
    vi.advanceTimersByTime(500);
    expect(fired).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears its real timer when cancelled', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    timer.setAt(T0 + 500);
    timer.cancel();
    expect(vi.getTimerCount()).toBe(0);
    clock.advance(500);
    vi.advanceTimersByTime(1_000);
    expect(fired).toBe(0);
  });

  it('waits for a time further off than a real timer can be set for, without spinning', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let reads = 0;
    const counting: Clock = {
      now: () => {
        reads += 1;
        return clock.now();
      },
    };
    const far = new ClockTimer(counting, () => (fired += 1));
    far.setAt(T0 + 2 ** 40);
    reads = 0;
    // An over-long real timer would go off at once and keep re-reading the clock.
    vi.advanceTimersByTime(1_000);
    expect(reads).toBe(0);
    expect(fired).toBe(0);
    clock.set(T0 + 2 ** 40);
    expect(far.fireIfDue()).toBe(true);
    expect(fired).toBe(1);
  });

  it('fires on time with the system clock', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let calls = 0;
    const wall = new ClockTimer(systemClock, () => (calls += 1));
    wall.setAt(Date.now() + 250);
    vi.advanceTimersByTime(249);
    expect(calls).toBe(0);
    vi.advanceTimersByTime(1);
    expect(calls).toBe(1);
  });
});
