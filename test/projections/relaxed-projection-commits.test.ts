import { afterEach, describe, expect, it } from 'vitest';
import { Projector, defineProjection, type RecordedEvent } from '@causewayjs/core';
import {
  PostgresEventStore,
  postgresProjectionStore,
  type PostgresReadModel,
  type PostgresTransaction,
} from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

/**
 * A projection batch that wrote nothing holds only its checkpoint, whose loss in a crash only
 * means the events come again: on PostgreSQL it commits without waiting for the flush, as a
 * subscription's progress-only commit does. One that used its read model waits, as always.
 */
const pgUp = await pgAvailable();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Apply = (event: RecordedEvent, rm: PostgresReadModel) => void | Promise<void>;

/**
 * Runs a projection with `apply` over six events; counts its relaxed commits. `quiet`: the
 * projection store reached through a wrapper that does not say it reports use.
 */
async function relaxedCommits(
  apply: Apply,
  quiet = false,
): Promise<{ relaxed: number; applied: number }> {
  const schema = randomSchemaName();
  const store = await PostgresEventStore.open(pgUrl, { schema });
  cleanups.push(async () => {
    await store.close();
    await dropSchema(schema);
  });
  const projections = await postgresProjectionStore(store);
  const checkpoints = projections.storage.checkpoints;
  const relaxCommit = checkpoints.relaxCommit?.bind(checkpoints);
  if (!relaxCommit) throw new Error('the PostgreSQL checkpoint store relaxes commits');
  let relaxed = 0;
  checkpoints.relaxCommit = (tx) => {
    relaxed += 1;
    return relaxCommit(tx);
  };
  for (let i = 0; i < 6; i++)
    await store.append(`item-${i % 2}`, [{ type: 'item.added', data: { id: `i${i}` } }]);
  let applied = 0;
  const wrapped: typeof projections = quiet
    ? (Object.create(projections, { reportsUse: { value: false } }) as typeof projections)
    : projections;
  const projector = new Projector<PostgresTransaction, PostgresReadModel>({
    store: wrapped,
    projections: [
      defineProjection<PostgresReadModel>({
        name: 'items',
        version: 1,
        handles: ['item.added'],
        setup: (rm) =>
          rm.client.query(`CREATE TABLE ${rm.table()} (id text PRIMARY KEY)`).then(() => undefined),
        apply: async (event, rm) => {
          applied += 1;
          await apply(event, rm);
        },
      }),
    ],
  });
  await projector.start();
  await projector.waitFor('items', await store.headPosition(), { timeoutMs: 10_000 });
  await projector.stop();
  return { relaxed, applied };
}

describe.skipIf(!pgUp)('projection commits on PostgreSQL', () => {
  it('a batch whose apply did not use the read model commits relaxed', async () => {
    const seen: string[] = [];
    const { relaxed, applied } = await relaxedCommits((event) => {
      seen.push((event.data as { id: string }).id);
    });
    expect(applied).toBe(6);
    expect(seen).toEqual(['i0', 'i1', 'i2', 'i3', 'i4', 'i5']);
    expect(relaxed).toBeGreaterThan(0);
  });

  it('a batch that wrote through the connection waits for the flush', async () => {
    const { relaxed, applied } = await relaxedCommits(async (event, rm) => {
      await rm.client.query(`INSERT INTO ${rm.table()} (id) VALUES ($1)`, [
        (event.data as { id: string }).id,
      ]);
    });
    expect(applied).toBe(6);
    expect(relaxed).toBe(0);
  });

  it('a batch that wrote documents waits for the flush', async () => {
    const { relaxed, applied } = await relaxedCommits(async (event, rm) => {
      const { id } = event.data as { id: string };
      await rm.documents<{ id: string }>('items').put(id, { id });
    });
    expect(applied).toBe(6);
    expect(relaxed).toBe(0);
  });

  it('through a projection store that does not report use, every batch waits for the flush', async () => {
    const { relaxed, applied } = await relaxedCommits(() => undefined, true);
    expect(applied).toBe(6);
    expect(relaxed).toBe(0);
  });
});
