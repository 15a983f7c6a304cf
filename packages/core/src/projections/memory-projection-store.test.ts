import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../core/errors.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import type { StoreTransaction } from '../store/event-store.js';
import { memoryProjectionStore } from './memory-projection-store.js';

const build = { name: 'carts', version: 1, build: 1 };

describe('memory projection store', () => {
  it('shows a transaction its own writes, and readers only committed ones', async () => {
    const store = new MemoryEventStore();
    const projections = memoryProjectionStore(store);
    const count = () => projections.read(build, (rm) => rm.collection('items').count());
    await store.transaction(async (tx) => {
      const items = projections.bind(tx, build).collection<{ n: number }>('items');
      items.put('a', { n: 1 });
      items.update('a', (d) => ({ n: (d?.n ?? 0) + 1 }));
      items.put('b', { n: 5 });
      expect(items.delete('b')).toBe(true);
      expect(items.find()).toEqual([{ n: 2 }]);
      expect(await count()).toBe(0);
    });
    expect(await count()).toBe(1);
    expect(
      await projections.read(build, (rm) => rm.collection<{ n: number }>('items').get('a')),
    ).toEqual({ n: 2 });
    await store.close();
  });

  it('forgets what a rolled-back transaction wrote', async () => {
    const store = new MemoryEventStore();
    const projections = memoryProjectionStore(store);
    const boom = new Error('no');
    await expect(
      store.transaction(async (tx) => {
        projections.bind(tx, build).collection('items').put('a', 1);
        await projections.putBuild(tx, {
          ...build,
          mode: 'async',
          status: 'serving',
          frozenAt: null,
          createdAt: new Date(),
          switchedAt: null,
        });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await projections.tables('carts')).toEqual([]);
    expect(await projections.listBuilds()).toEqual([]);
    await store.close();
  });

  it('copies documents in and out, and refuses writes from queries and after the transaction', async () => {
    const store = new MemoryEventStore();
    const projections = memoryProjectionStore(store);
    const doc = { list: [1] };
    let kept: StoreTransaction | undefined;
    await store.transaction((tx) => {
      kept = tx;
      projections.bind(tx, build).collection('items').put('a', doc);
      doc.list.push(2);
      return Promise.resolve();
    });
    await projections.read(build, (rm) => {
      const items = rm.collection<{ list: number[] }>('items');
      const got = items.get('a');
      got?.list.push(3);
      expect(items.get('a')).toEqual({ list: [1] });
      expect(() => items.put('b', { list: [] })).toThrow(InvalidArgumentError);
    });
    expect(() => projections.bind(kept as StoreTransaction, build).collection('items')).toThrow(
      InvalidArgumentError,
    );
    await store.close();
  });

  it('drops a build with its collections, and only it', async () => {
    const store = new MemoryEventStore();
    const projections = memoryProjectionStore(store);
    const next = { ...build, build: 2 };
    await store.transaction((tx) => {
      projections.bind(tx, build).collection('items').put('a', 1);
      projections.bind(tx, build).collection().put('x', 1);
      projections.bind(tx, next).collection('items').put('a', 1);
      return Promise.resolve();
    });
    expect(await projections.tables('carts')).toEqual([
      'carts_v1',
      'carts_v1__items',
      'carts_v1r2__items',
    ]);
    await store.transaction((tx) => projections.drop(tx, build));
    expect(await projections.tables('carts')).toEqual(['carts_v1r2__items']);
    await store.close();
  });
});
