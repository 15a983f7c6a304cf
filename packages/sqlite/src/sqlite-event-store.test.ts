import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collect } from '@causewayjs/core';
import { SqliteEventStore } from './sqlite-event-store.js';

describe('SQLite event store group commit', () => {
  const dirs: string[] = [];
  const stores: SqliteEventStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('appends arriving in separate callbacks of one loop turn share one commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-gc-'));
    dirs.push(dir);
    const store = SqliteEventStore.open(join(dir, 'events.db'));
    stores.push(store);
    // writeBatch is the one place a batch becomes a transaction; count how often it runs.
    const writeBatch = vi.spyOn(
      store as unknown as { writeBatch: (...args: unknown[]) => unknown },
      'writeBatch',
    );
    const count = 20;
    // Each setImmediate callback is its own macrotask, with microtasks drained in between,
    // as for requests read from separate sockets.
    const appends = await new Promise<Promise<unknown>[]>((resolve) => {
      const started: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++)
        setImmediate(() => {
          started.push(store.append(`s-${i}`, [{ type: 'x', data: i }]));
          if (started.length === count) resolve(started);
        });
    });
    await Promise.all(appends);
    expect(writeBatch).toHaveBeenCalledTimes(1);
    expect((await collect(store.readAll())).map((e) => e.data)).toHaveLength(count);
  });
});

describe('SQLite event store: commits of other connections and processes', () => {
  const dirs: string[] = [];
  const stores: SqliteEventStore[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const file = () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-watch-'));
    dirs.push(dir);
    return join(dir, 'events.db');
  };
  const open = (path: string, options?: Parameters<typeof SqliteEventStore.open>[1]) => {
    const store = SqliteEventStore.open(path, options);
    stores.push(store);
    return store;
  };
  /** Watches `store`, collecting the positions reported. */
  const watched = (store: SqliteEventStore) => {
    const seen: number[] = [];
    cleanups.push(store.watch((position) => seen.push(position)));
    return seen;
  };
  // A fallback poll this slow never fires during a test: only the file watch can deliver.
  const noPoll = { pollIntervalMs: 600_000 };

  it('a second connection in the process: woken by the -wal file watch, not the poll', async () => {
    const path = file();
    const reader = open(path, noPoll);
    const writer = open(path);
    const seen = watched(reader);
    expect(reader.watchState).toBe('file');
    const before = reader.watchStats;
    const { position } = await writer.append('s-1', [{ type: 'x', data: 1 }]);
    await expect.poll(() => seen, { timeout: 10_000 }).toContain(position);
    const after = reader.watchStats;
    expect(after.fileEvents).toBeGreaterThan(before.fileEvents);
    expect(after.changesAfterFileEvent).toBeGreaterThan(before.changesAfterFileEvent);
    // Its own appends are reported directly, with no data_version change to see.
    const changes = reader.watchStats.changes;
    const own = await reader.append('s-2', [{ type: 'x', data: 2 }]);
    expect(seen).toContain(own.position);
    expect(reader.watchStats.changes).toBe(changes);
  });

  it('without the file watch, the poll notices the data_version change', async () => {
    const path = file();
    const reader = open(path, { watchFile: false, pollIntervalMs: 10 });
    const writer = open(path);
    const seen = watched(reader);
    expect(reader.watchState).toBe('polling');
    const { position } = await writer.append('s-1', [{ type: 'x', data: 1 }]);
    await expect.poll(() => seen, { timeout: 10_000 }).toContain(position);
    expect(reader.watchStats).toMatchObject({ fileEvents: 0, changesAfterFileEvent: 0 });
    expect(reader.watchStats.changes).toBeGreaterThan(0);
  });

  it('stops its timers and file watch when nobody watches, and starts them again', async () => {
    const path = file();
    const reader = open(path, { pollIntervalMs: 5 });
    const stop = reader.watch(() => undefined);
    await expect.poll(() => reader.watchStats.checks).toBeGreaterThan(1);
    stop();
    expect(reader.watchState).toBe('idle');
    const seen = watched(reader);
    expect(reader.watchState).toBe('file');
    const { position } = await open(path).append('s', [{ type: 'x', data: 1 }]);
    await expect.poll(() => seen, { timeout: 10_000 }).toContain(position);
  });

  it('another process: each of its commits reaches the watcher through the file watch', async () => {
    const path = file();
    const reader = open(path, noPoll);
    const seen = watched(reader);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('../../../test/support/sqlite-append-child.ts', import.meta.url)),
        path,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    cleanups.push(() => child.kill());
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const lines = () => out.split('\n').filter((l) => l !== '');
    await expect
      .poll(() => (err ? `stderr: ${err}` : lines()), { timeout: 30_000 })
      .toContain('ready');
    for (let i = 1; i <= 3; i++) {
      child.stdin.write(`child-${i}\n`);
      // The child's acknowledgement, then the reader's wake-up for that position.
      await expect.poll(() => lines().length, { timeout: 10_000 }).toBe(i + 1);
      const position = Number(lines()[i]);
      await expect.poll(() => seen, { timeout: 10_000 }).toContain(position);
    }
    expect(reader.watchStats.changesAfterFileEvent).toBeGreaterThanOrEqual(3);
    child.stdin.end();
  });
});
