import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
