import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommitListener, EventStore } from '../store/event-store.js';
import { StepLinger } from './step-linger.js';

/** A store whose commit notifications the test sends by hand. */
function fakeSource() {
  const listeners = new Set<CommitListener>();
  const source: Pick<EventStore, 'watch'> = {
    watch(listener: CommitListener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return {
    source,
    commit: (position: number) => {
      for (const l of listeners) l(position);
    },
    listeners,
  };
}

describe('StepLinger', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes notifications through at once while no command is out', () => {
    const { source, commit } = fakeSource();
    const linger = new StepLinger(50);
    const seen: number[] = [];
    linger.watch(source, (p) => seen.push(p));
    commit(3);
    expect(seen).toEqual([3]);
  });

  it('holds notifications while commands are out, for at most lingerMs, delivering the highest', () => {
    const { source, commit } = fakeSource();
    const linger = new StepLinger(50);
    const seen: number[] = [];
    linger.watch(source, (p) => seen.push(p));
    linger.started();
    commit(3);
    commit(5);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual([5]);
    // Still out: the next one is held again.
    commit(6);
    expect(seen).toEqual([5]);
    vi.advanceTimersByTime(50);
    expect(seen).toEqual([5, 6]);
  });

  it('releases what it holds once no command is out after the turn, not between waves', () => {
    const { source, commit } = fakeSource();
    const linger = new StepLinger(60_000);
    const seen: number[] = [];
    linger.watch(source, (p) => seen.push(p));
    linger.started();
    commit(4);
    // A wave comes back and the next goes out in the same turn: still held.
    linger.finished();
    linger.started();
    vi.advanceTimersByTime(0);
    expect(seen).toEqual([]);
    linger.finished();
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(seen).toEqual([4]);
  });

  it('never holds the closing notification (0), and delivers what it held first', () => {
    const { source, commit } = fakeSource();
    const linger = new StepLinger(60_000);
    const seen: number[] = [];
    linger.watch(source, (p) => seen.push(p));
    linger.started();
    commit(2);
    commit(0);
    expect(seen).toEqual([2, 0]);
  });

  it('stops holding when unwatched', () => {
    const { source, commit, listeners } = fakeSource();
    const linger = new StepLinger(50);
    const seen: number[] = [];
    const unwatch = linger.watch(source, (p) => seen.push(p));
    linger.started();
    commit(1);
    unwatch();
    expect(listeners.size).toBe(0);
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([]);
  });

  it('holds nothing at 0 ms, and watches nothing on a store that cannot be watched', () => {
    const { source, commit, listeners } = fakeSource();
    const seen: number[] = [];
    const linger = new StepLinger(0);
    const unwatch = linger.watch(source, (p) => seen.push(p));
    linger.started();
    commit(3);
    expect(seen).toEqual([3]);
    unwatch();
    expect(listeners.size).toBe(0);
    expect(() => new StepLinger(5).watch({}, (p) => seen.push(p))()).not.toThrow();
  });
});
