import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, collect } from '@causewayjs/core';
import { settledYet } from '../../../test/support/settled-yet.js';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store.js';

type Callback = (error: NodeJS.ErrnoException | null) => void;

/**
 * Holds every `fdatasync` of the process until the test lets it run (or fail), so a test
 * can look at what the store has and has not reported while a flush is under way.
 */
/** Flushes still held when a test ends, released before its stores close. */
const stillHeld: (() => void)[] = [];

function holdFlushes() {
  const held: { fd: number; callback: Callback }[] = [];
  const real = fs.fdatasync;
  stillHeld.push(() => {
    for (const next of held.splice(0)) real(next.fd, next.callback);
  });
  const spy = vi.spyOn(fs, 'fdatasync').mockImplementation((fd: number, callback: Callback) => {
    held.push({ fd, callback });
  });
  return {
    held,
    /** Runs the oldest held flush for real. */
    release: () => {
      const next = held.shift();
      if (!next) throw new Error('no flush is held');
      real(next.fd, next.callback);
    },
    /** Fails the oldest held flush as a disk error would. */
    fail: () => {
      const next = held.shift();
      if (!next) throw new Error('no flush is held');
      next.callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    },
    spy,
  };
}

describe('SQLite store: commits flushed in the background', () => {
  const dirs: string[] = [];
  const stores: SqliteEventStore[] = [];
  afterEach(async () => {
    // A test that failed with flushes held must not also hang closing its stores.
    vi.restoreAllMocks();
    for (const release of stillHeld.splice(0)) release();
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const open = (options?: SqliteEventStoreOptions, path?: string) => {
    let file = path;
    if (!file) {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-flush-'));
      dirs.push(dir);
      file = join(dir, 'events.db');
    }
    const store = SqliteEventStore.open(file, options);
    stores.push(store);
    return { store, file };
  };

  /**
   * Two transactions, the second waiting for the write lock while the first commits: the
   * first's commit is then left to the flusher (held by `holdFlushes`), and the second's
   * joins the flush after it. Resolves once that first flush is under way.
   */
  const contend = async (store: SqliteEventStore, flushes: ReturnType<typeof holdFlushes>) => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const calls: string[] = [];
    const first = store.transaction(async (tx) => {
      tx.onCommit(() => calls.push('committed'));
      tx.onDurable(() => calls.push('durable'));
      await tx.append('t-1', [{ type: 'x', data: 't-1' }]);
      await gate;
    });
    const second = store.transaction((tx) => tx.append('t-2', [{ type: 'x', data: 't-2' }]));
    open();
    await expect.poll(() => flushes.held.length).toBe(1);
    return { first, second, calls };
  };

  it('alone, a commit flushes itself: no thread-pool flush, the connection at FULL', async () => {
    const { store } = open();
    const flushes = holdFlushes();
    const synced = vi.spyOn(fs, 'fdatasyncSync');
    expect((await store.append('s-1', [{ type: 'x', data: 1 }])).position).toBe(1);
    await store.transaction((tx) => tx.append('s-2', [{ type: 'x', data: 2 }]));
    expect(flushes.spy).not.toHaveBeenCalled();
    // The append committed at FULL; the transaction, at NORMAL, was flushed right after.
    expect(synced).toHaveBeenCalledTimes(1);
    expect(store.database.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('appends gathered from several callers into one batch are flushed in the background', async () => {
    const { store } = open();
    const flushes = holdFlushes();
    const synced = vi.spyOn(fs, 'fdatasyncSync');
    // Issued in one tick, with nothing else waiting and no flush under way: one batch.
    const appends = [1, 2, 3].map((n) => store.append(`s-${n}`, [{ type: 'x', data: n }]));
    await expect.poll(() => flushes.held.length).toBe(1);
    // Committed (at NORMAL, the connection back at FULL after it), not yet reported.
    expect(await store.headPosition()).toBe(3);
    expect(store.database.pragma('synchronous', { simple: true })).toBe(2);
    expect(await settledYet(Promise.all(appends))).toBe(false);
    expect(synced).not.toHaveBeenCalled();
    flushes.release();
    expect((await Promise.all(appends)).map((r) => r.position)).toEqual([1, 2, 3]);
  });

  it('a transaction with another waiting resolves, and watchers hear of it, only once flushed', async () => {
    const { store, file } = open();
    const seen: number[] = [];
    store.watch((position) => seen.push(position));
    const flushes = holdFlushes();
    const before = store.watchStats.changes;
    const { first, second, calls } = await contend(store, flushes);
    // Both committed (another connection reads them), neither reported.
    await expect.poll(() => store.headPosition()).toBe(2);
    // The watch saw the commits in the file and polled; the poll waits for the flush.
    await expect.poll(() => store.watchStats.changes).toBeGreaterThan(before);
    const other = open({}, file).store;
    expect((await collect(other.readAll())).map((e) => e.data)).toEqual(['t-1', 't-2']);
    expect(await settledYet(first)).toBe(false);
    expect(seen).toEqual([]);
    // Its commit callbacks ran at the commit; its durable callbacks wait for the flush.
    expect(calls).toEqual(['committed']);
    flushes.release();
    await first;
    expect(seen).toEqual([1]);
    expect(calls).toEqual(['committed', 'durable']);
    // The second committed during the first flush: it waits for the next one.
    await expect.poll(() => flushes.held.length).toBe(1);
    expect(await settledYet(second)).toBe(false);
    flushes.release();
    await second;
    expect(seen).toEqual([1, 2]);
  });

  it('appends made during a flush commit at once and share the next flush', async () => {
    const { store } = open();
    const flushes = holdFlushes();
    const { first, second } = await contend(store, flushes);
    const later = [3, 4, 5].map((n) => store.append(`s-${n}`, [{ type: 'x', data: n }]));
    // Written while the first flush is held, at NORMAL, and queued for one flush after it.
    await expect.poll(() => store.headPosition()).toBe(5);
    expect(store.database.pragma('synchronous', { simple: true })).toBe(2);
    expect(flushes.held).toHaveLength(1);
    flushes.release();
    await first;
    await expect.poll(() => flushes.held.length).toBe(1);
    expect(await settledYet(Promise.all([second, ...later]))).toBe(false);
    flushes.release();
    await second;
    expect((await Promise.all(later)).map((r) => r.position).sort()).toEqual([3, 4, 5]);
  });

  it('a failed flush fails what waits for it, and the store takes no more writes', async () => {
    const { store } = open();
    const seen: number[] = [];
    store.watch((position) => seen.push(position));
    const flushes = holdFlushes();
    const { first, second, calls } = await contend(store, flushes);
    const append = store.append('s-3', [{ type: 'x', data: 3 }]);
    await expect.poll(() => store.headPosition()).toBe(3);
    // A transaction under way when the flush fails is rolled back, not committed.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const running = store.transaction(async (tx) => {
      await tx.append('s-running', [{ type: 'x', data: 'running' }]);
      await gate;
    });
    flushes.fail();
    for (const failed of [first, second, append])
      await expect(failed).rejects.toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE });
    openGate();
    await expect(running).rejects.toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE });
    await expect(store.append('s-4', [{ type: 'x', data: 4 }])).rejects.toMatchObject({
      code: ErrorCode.STORE_UNAVAILABLE,
    });
    await expect(
      store.transaction((tx) => tx.append('s-5', [{ type: 'x', data: 5 }])),
    ).rejects.toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE });
    await expect(store.deleteStream('s-3')).rejects.toMatchObject({
      code: ErrorCode.STORE_UNAVAILABLE,
    });
    // Refused before writing: nothing was committed after the failure.
    expect(await store.headPosition()).toBe(3);
    expect(flushes.held).toHaveLength(0);
    // Watchers and durable callbacks never heard of the commits whose flush failed.
    expect(seen).toEqual([]);
    expect(calls).toEqual(['committed']);
  });

  it('a failed flush of a commit that flushes itself fails it, and later writes', async () => {
    const { store } = open();
    vi.spyOn(fs, 'fdatasyncSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    });
    const callbacks: string[] = [];
    await expect(
      store.transaction(async (tx) => {
        tx.onCommit(() => callbacks.push('committed'));
        await tx.append('s-1', [{ type: 'x', data: 1 }]);
      }),
    ).rejects.toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE });
    // The commit is in the file: what it committed in memory is applied all the same.
    expect(callbacks).toEqual(['committed']);
    await expect(store.append('s-2', [{ type: 'x', data: 2 }])).rejects.toMatchObject({
      code: ErrorCode.STORE_UNAVAILABLE,
    });
  });

  it('a transaction committing while close() waits for the lock is flushed before it closes', async () => {
    const { store } = open();
    const flushes = holdFlushes();
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const running = store.transaction(async (tx) => {
      await tx.append('s-1', [{ type: 'x', data: 1 }]);
      await gate;
    });
    const closed = store.close();
    // close() has drained the appends and now waits for the write lock.
    await new Promise((resolve) => setImmediate(resolve));
    openGate();
    // The commit found close() waiting, so its flush runs in the background.
    await expect.poll(() => flushes.held.length).toBe(1);
    expect(await settledYet(closed)).toBe(false);
    expect(await settledYet(running)).toBe(false);
    flushes.release();
    await running;
    await closed;
  });

  it('close() waits for a flush under way, and its transaction still resolves', async () => {
    const { store } = open();
    const flushes = holdFlushes();
    const { first, second } = await contend(store, flushes);
    const closed = store.close();
    expect(await settledYet(closed)).toBe(false);
    flushes.release();
    await expect.poll(() => flushes.held.length).toBe(1);
    flushes.release();
    await closed;
    await first;
    await second;
  });

  it('a relaxed transaction resolves at once, with no flush of its own', async () => {
    const { store } = open();
    expect(store.flushesInBackground).toBe(true);
    const flushes = holdFlushes();
    const synced = vi.spyOn(fs, 'fdatasyncSync');
    const { first, second } = await contend(store, flushes);
    // Resolves while the flushes before it are held.
    const waited = await store.transaction((tx) => {
      expect(tx.waitsForFlush).toBe(true);
      expect(tx.relaxCommit()).toBe(true);
      tx.database.exec('CREATE TABLE IF NOT EXISTS progress (n INTEGER)');
      tx.database.prepare('INSERT INTO progress (n) VALUES (?)').run(7);
      return Promise.resolve(tx.waitsForFlush);
    });
    expect(waited).toBe(false);
    expect(await settledYet(first)).toBe(false);
    flushes.release();
    await first;
    // The next flush covers the second transaction and the relaxed one: nobody waits for
    // the relaxed one, but it is flushed all the same, in the background.
    await expect.poll(() => flushes.held.length).toBe(1);
    flushes.release();
    await second;
    expect(flushes.held).toHaveLength(0);
    expect(synced).not.toHaveBeenCalled();
    // A transaction that appends waits for its flush even if relaxed.
    const appended = await store.transaction(async (tx) => {
      tx.relaxCommit();
      await tx.append('s-relaxed', [{ type: 'x', data: 'relaxed' }]);
      return tx.waitsForFlush;
    });
    expect(appended).toBe(true);
  });

  it('a relaxed commit on an idle store is flushed without anyone waiting', async () => {
    const { store } = open();
    const flushes = holdFlushes();
    await store.transaction((tx) => {
      tx.relaxCommit();
      tx.database.exec('CREATE TABLE IF NOT EXISTS progress (n INTEGER)');
      return Promise.resolve();
    });
    // Resolved at once, with its flush requested in the background.
    expect(flushes.held).toHaveLength(1);
    flushes.release();
  });

  it('backgroundFlush: false leaves the flush inside the commit', async () => {
    const { store } = open({ backgroundFlush: false });
    expect(store.flushesInBackground).toBe(false);
    const flushes = holdFlushes();
    expect((await store.append('s-1', [{ type: 'x', data: 1 }])).position).toBe(1);
    const relaxed = await store.transaction(async (tx) => {
      await tx.append('s-2', [{ type: 'x', data: 2 }]);
      return tx.relaxCommit() || !tx.waitsForFlush;
    });
    expect(relaxed).toBe(false);
    expect(flushes.spy).not.toHaveBeenCalled();
    expect(store.database.pragma('synchronous', { simple: true })).toBe(2);
  });
});
