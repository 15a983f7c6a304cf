// Sagas read and write through the decorated store: handlers see upcast data (through
// `source`, or through a stacked backend's storage), and events they emit inside their
// transaction are validated like any other append.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  defineSaga,
  openBackend,
  SagaRuntime,
  SchemaRegistry,
  stackBackend,
  upcaster,
  withSchemas,
  type Backend,
  type CommandDispatcher,
  type EventStore,
  type SagaStore,
  type SubscriptionStorage,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const pg = await pgAvailable();

const noCommands: CommandDispatcher = {
  dispatch: () => Promise.reject(new Error('this saga sends no commands')),
};

interface Seen {
  data: unknown;
  version: number;
}

/** Records the data of each order it starts on, and emits an audit event with `audit` as data. */
const watch = defineSaga<Seen>({
  name: 'placed-watch',
  startsWith: ['order.placed'],
  handles: [],
  correlate: (event) => event.stream,
  initialStep: 'seen',
  start: (event, { id }) => ({
    state: { data: event.data, version: event.schemaVersion },
    emit: [
      {
        stream: `audit-${id}`,
        type: 'order.audited',
        data: (event.data as { audit?: unknown }).audit ?? { n: 1 },
      },
    ],
    complete: true,
  }),
});

type Kind = 'memory' | 'sqlite' | 'postgres';

async function openKind(kind: Kind, cleanup: (() => Promise<void> | void)[]): Promise<Backend> {
  if (kind === 'memory') return openBackend('memory:');
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-saga-stack-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return openBackend(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 10 });
  }
  const schema = randomSchemaName();
  cleanup.push(() => dropSchema(schema));
  return openBackend(pgUrl, { schema, maxConnections: 4 });
}

/** A registry with `order.placed` at v2 (v1 had no currency) and `order.audited` at v1. */
async function registryOf(backend: Backend): Promise<SchemaRegistry> {
  const registry = await SchemaRegistry.open({ storage: await backend.schemaStorage() });
  await registry.register('order.placed', {
    type: 'object',
    required: ['total'],
    properties: { total: { type: 'number' }, audit: {} },
  });
  await registry.register('order.placed', {
    type: 'object',
    required: ['total'],
    properties: { total: { type: 'number' }, currency: { type: 'string' }, audit: {} },
  });
  await registry.register('order.audited', {
    type: 'object',
    required: ['n'],
    properties: { n: { type: 'number' } },
  });
  return registry;
}

const upcasters = [
  upcaster('order.placed', 1, (d: { total: number }) => ({ ...d, currency: 'EUR' })),
];

function runtimeOf(
  storage: SubscriptionStorage,
  sagaStore: SagaStore,
  source?: EventStore,
): SagaRuntime {
  return new SagaRuntime({
    storage,
    sagaStore,
    sagas: [watch],
    dispatcher: noCommands,
    lease: false,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    ...(source ? { source } : {}),
  });
}

for (const kind of ['memory', 'sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !pg)(`sagas through a decorated store (${kind})`, () => {
    const cleanup: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    async function setUp() {
      const backend = await openKind(kind, cleanup);
      cleanup.push(() => backend.close());
      const registry = await registryOf(backend);
      // Written by older code: v1, without a currency.
      await backend.store.append('order-1', [
        { type: 'order.placed', data: { total: 3 }, schemaVersion: 1 },
      ]);
      return { backend, registry };
    }

    async function run(runtime: SagaRuntime): Promise<void> {
      cleanup.push(() => runtime.stop());
      await runtime.start();
      await runtime.runUntilIdle({ timeoutMs: 20_000 });
    }

    it('hands handlers the data `source` reads: upcast to v2', async () => {
      const { backend, registry } = await setUp();
      const runtime = runtimeOf(
        await backend.subscriptionStorage(),
        await backend.sagaStore(),
        withSchemas(backend.store, { registry, upcasters }),
      );
      await run(runtime);
      const instance = await runtime.getInstance('placed-watch', 'order-1');
      expect(instance?.state).toEqual({ data: { total: 3, currency: 'EUR' }, version: 2 });
    });

    it("hands handlers upcast data through a stacked backend's storage", async () => {
      const { backend, registry } = await setUp();
      const app = await stackBackend(backend, { schemas: { registry, upcasters } });
      const runtime = runtimeOf(await app.subscriptionStorage(), await app.sagaStore());
      await run(runtime);
      const instance = await runtime.getInstance('placed-watch', 'order-1');
      expect(instance?.state).toEqual({ data: { total: 3, currency: 'EUR' }, version: 2 });
    });

    it('refuses an emitted event its schema refuses: nothing of the step is written, the event is parked', async () => {
      const { backend, registry } = await setUp();
      const app = await stackBackend(backend, { schemas: { registry, upcasters } });
      await app.store.append('order-2', [
        { type: 'order.placed', data: { total: 4, audit: { n: 'NOT A NUMBER' } } },
      ]);
      const storage = await app.subscriptionStorage();
      const runtime = runtimeOf(storage, await app.sagaStore());
      await run(runtime);

      // The valid step went through, its emitted event validated and stamped.
      const audits = await collect(backend.store.readStream('audit-order-1'));
      expect(audits.map((e) => [e.type, e.data, e.schemaVersion])).toEqual([
        ['order.audited', { n: 1 }, 1],
      ]);
      // The invalid one: no event, no instance, the event parked with the validation error.
      expect((await backend.store.streamInfo('audit-order-2')).exists).toBe(false);
      expect(await runtime.getInstance('placed-watch', 'order-2')).toBeUndefined();
      const parked = await storage.parked.list('saga:placed-watch');
      expect(parked.map((p) => p.stream)).toEqual(['order-2']);
      expect(JSON.stringify(parked[0]!.error)).toContain('SCHEMA_VALIDATION_FAILED');
    });

    it('refuses an invalid tx.append in a transaction of the stacked store, writing nothing', async () => {
      const { backend, registry } = await setUp();
      const app = await stackBackend(backend, { schemas: { registry } });
      const head = await backend.store.headPosition();
      await expect(
        app.store.transaction(async (tx) => {
          await tx.append('audit-x', [{ type: 'order.audited', data: { n: 1 } }]);
          await tx.append('audit-x', [{ type: 'order.audited', data: { n: 'NOT A NUMBER' } }]);
        }),
      ).rejects.toMatchObject({ code: 'SCHEMA_VALIDATION_FAILED' });
      expect(await backend.store.headPosition()).toBe(head);
    });
  });
}
