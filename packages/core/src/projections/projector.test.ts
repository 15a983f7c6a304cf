import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import type { StoreTransaction } from '../store/event-store.js';
import { nack } from '../subscriptions/event-handler.js';
import { SubscriptionStoppedByHandlerError } from '../subscriptions/subscription-errors.js';
import type { DocumentReadModel } from './document-read-model.js';
import { memoryProjectionStore } from './memory-projection-store.js';
import { defineProjection, type ProjectionDefinition } from './projection.js';
import {
  DuplicateProjectionError,
  ProjectionNotReadyError,
  ProjectionStoppedError,
  UnknownProjectionError,
} from './projection-errors.js';
import { Projector, type ProjectorOptions } from './projector.js';

const counter = (
  options: Partial<ProjectionDefinition<DocumentReadModel>> = {},
): ProjectionDefinition<DocumentReadModel> =>
  defineProjection<DocumentReadModel>({
    name: 'counter',
    version: 1,
    handles: ['tick.happened'],
    setup: (rm) => void rm.collection(),
    apply: (event, rm) => {
      rm.collection<number>().update('ticks', (n) => (n ?? 0) + 1);
    },
    ...options,
  });

const tick = { type: 'tick.happened', data: {} };

describe('Projector', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const setup = (
    projections: ProjectionDefinition<DocumentReadModel>[],
    options: Partial<ProjectorOptions<StoreTransaction, DocumentReadModel>> = {},
    store = new MemoryEventStore(),
    projectionStore = memoryProjectionStore(store),
  ) => {
    const projector = new Projector({ store: projectionStore, projections, ...options });
    cleanups.push(async () => {
      await projector.stop();
      await store.close();
    });
    return { store, projector, projectionStore };
  };

  it('refuses bad options and duplicate definitions', () => {
    const store = memoryProjectionStore(new MemoryEventStore());
    expect(() => new Projector({ store: {} as never, projections: [counter()] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new Projector({ store, projections: [] })).toThrow(InvalidArgumentError);
    expect(() => new Projector({ store, projections: [counter(), counter()] })).toThrow(
      DuplicateProjectionError,
    );
    expect(() => new Projector({ store, projections: [counter()], inlineTimeoutMs: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new Projector({ store, projections: [counter()], retiredGraceMs: -1 })).toThrow(
      InvalidArgumentError,
    );
    // Two versions of one name are a blue/green pair, not duplicates.
    expect(
      new Projector({ store, projections: [counter(), counter({ version: 2 })] }).names,
    ).toEqual(['counter']);
  });

  it('rejects calls about unknown projections and bad arguments', async () => {
    const { projector } = setup([counter()]);
    await expect(projector.status('nope')).rejects.toBeInstanceOf(UnknownProjectionError);
    await expect(projector.query('nope', () => 1)).rejects.toBeInstanceOf(UnknownProjectionError);
    await expect(projector.waitFor('counter', -1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(projector.query('counter', () => 1, { timeoutMs: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(projector.rebuild('counter')).rejects.toBeInstanceOf(ProjectionStoppedError);
  });

  it('says that nothing serves while the first build of an inline projection runs', async () => {
    const { store, projector } = setup([counter({ mode: 'inline' })]);
    await store.append('clock', [tick]);
    await expect(projector.query('counter', () => 1)).rejects.toBeInstanceOf(
      ProjectionNotReadyError,
    );
    await projector.start();
    await projector.switched('counter', { timeoutMs: 5000 });
    const { data, position } = await projector.query('counter', (rm) =>
      rm.collection<number>().get('ticks'),
    );
    expect(data).toBe(1);
    expect(position).toBe(1);
  });

  it('reports a projection stopped by its handler, and fails waits on it', async () => {
    const { projector } = setup([
      counter({
        apply: (event) => (event.position === 2 ? nack.stop('cannot go on') : undefined),
      }),
    ]);
    await projector.start();
    const waiting = projector.waitFor('counter', 3, { timeoutMs: 5000 });
    await projector.store.append('clock', [tick, tick, tick]);
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectionStoppedError);
    expect((error as Error).cause).toBeInstanceOf(SubscriptionStoppedByHandlerError);
    const status = await projector.status('counter');
    expect(status.state).toBe('stopped');
    expect(status.error).toBeInstanceOf(SubscriptionStoppedByHandlerError);
    expect(status.position).toBe(1);
  });

  it('keeps a replaced read model for the grace period, then drops it', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const store = new MemoryEventStore();
    const shared = memoryProjectionStore(store);
    const options = { clock, retiredGraceMs: 60_000 };
    const v1 = setup([counter()], options, store, shared).projector;
    await v1.start();
    await v1.store.append('clock', [tick, tick]);
    await v1.waitFor('counter', 2, { timeoutMs: 5000 });
    await v1.stop();
    const v2 = setup([counter({ version: 2 })], options, store, shared).projector;
    await v2.start();
    await v2.switched('counter', { timeoutMs: 5000 });
    expect((await shared.listBuilds('counter')).map((r) => [r.version, r.status])).toEqual([
      [1, 'retired'],
      [2, 'serving'],
    ]);
    expect(await shared.tables('counter')).toEqual(['counter_v1', 'counter_v2']);
    await v2.stop();
    clock.advance(60_000);
    await v2.start();
    expect((await shared.listBuilds('counter')).map((r) => r.version)).toEqual([2]);
    expect(await shared.tables('counter')).toEqual(['counter_v2']);
    const { data, version } = await v2.query('counter', (rm) =>
      rm.collection<number>().get('ticks'),
    );
    expect([data, version]).toEqual([2, 2]);
  });

  it('lets one runner of a projection run while another stands by, then takes over', async () => {
    const store = new MemoryEventStore();
    const shared = memoryProjectionStore(store);
    const first = setup([counter()], {}, store, shared).projector;
    const second = setup(
      [counter()],
      { subscription: { lease: { wait: true, retryIntervalMs: 10 } } },
      store,
      shared,
    ).projector;
    await first.start();
    await second.start();
    expect((await second.status('counter')).state).toBe('standby');
    await first.store.append('clock', [tick, tick]);
    await first.waitFor('counter', 2, { timeoutMs: 5000 });
    await first.stop();
    await second.store.append('clock', [tick]);
    await second.waitFor('counter', 3, { timeoutMs: 5000 });
    await expect.poll(async () => (await second.status('counter')).state).toBe('running');
    const { data } = await second.query('counter', (rm) => rm.collection<number>().get('ticks'));
    expect(data).toBe(3);
  });

  it('reads the registry once at a start that sets nothing up, twice at one that does', async () => {
    const store = new MemoryEventStore();
    const shared = memoryProjectionStore(store);
    let reads = 0;
    // The same store, its registry reads counted.
    const counted = new Proxy(shared, {
      get: (target, key, receiver) =>
        key === 'listBuilds'
          ? (name?: string) => {
              reads += 1;
              return target.listBuilds(name);
            }
          : (Reflect.get(target, key, receiver) as unknown),
    });
    const first = setup([counter()], {}, store, counted).projector;
    await first.start();
    // The read that finds nothing, and the one after the new build is set up.
    expect(reads).toBe(2);
    await first.store.append('clock', [tick]);
    await first.waitFor('counter', 1, { timeoutMs: 5000 });
    await first.stop();
    reads = 0;
    const again = setup([counter()], {}, store, counted).projector;
    await again.start();
    expect(reads).toBe(1);
    expect((await again.status('counter')).state).not.toBe('stopped');
    await again.store.append('clock', [tick]);
    await again.waitFor('counter', 2, { timeoutMs: 5000 });
    const { data } = await again.query('counter', (rm) => rm.collection<number>().get('ticks'));
    expect(data).toBe(2);
  });

  it('still drops a retired build at start, and reads the registry again after the drop', async () => {
    const store = new MemoryEventStore();
    const shared = memoryProjectionStore(store);
    const v1 = setup([counter()], {}, store, shared).projector;
    await v1.start();
    await v1.store.append('clock', [tick]);
    await v1.waitFor('counter', 1, { timeoutMs: 5000 });
    await v1.stop();
    // A retired build left behind (its process stopped within the grace period).
    await store.transaction(async (tx) => {
      const [serving] = await shared.buildsIn(tx, ['counter']);
      if (!serving) throw new Error('no serving build');
      await shared.putBuild(tx, {
        ...serving,
        build: 2,
        status: 'retired',
        switchedAt: new Date(0),
      });
    });
    expect((await shared.listBuilds('counter')).map((r) => [r.build, r.status])).toEqual([
      [1, 'serving'],
      [2, 'retired'],
    ]);
    const again = setup([counter()], {}, store, shared).projector;
    await again.start();
    expect((await shared.listBuilds('counter')).map((r) => [r.build, r.status])).toEqual([
      [1, 'serving'],
    ]);
    expect((await again.status('counter')).build).toBe(1);
  });
});
