import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openBackend,
  type Backend,
  type EventStoreOptions,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { backendTargets, type BackendTarget, type FreshDatabase } from './backend-targets.js';
import {
  describeEventStoreConformance,
  type EventStoreHarness,
  describeSubscriptionSeamsConformance,
} from '@causewayjs/testing';
import type { LayerConfig, LayeredStore } from './store-layers.js';

/** A harness of both suites: its stores are transactional. */
interface LayeredHarness extends EventStoreHarness {
  open(options?: EventStoreOptions): Promise<TransactionalEventStore>;
}

/** Fresh databases of `target`, each opened as a backend under `config`'s layers. */
function layeredHarness(target: BackendTarget, config: LayerConfig) {
  return (): Promise<LayeredHarness> => {
    const db = target.fresh();
    const opened: { backend: Backend; layered: LayeredStore }[] = [];
    return Promise.resolve({
      durable: db.durable,
      ...(config.stream ? { stream: config.stream } : {}),
      addedMetadata: config.addedMetadata,
      open: async (options) => {
        const backend = await openBackend(db.url, { ...options, maxConnections: 4 });
        const layered = await config.stack(backend);
        opened.push({ backend, layered });
        return layered.store;
      },
      cleanup: () => closeAll(opened.splice(0), db),
    });
  };
}

async function closeAll(
  opened: readonly { backend: Backend; layered: LayeredStore }[],
  db: FreshDatabase,
): Promise<void> {
  for (const { backend, layered } of opened) {
    await layered.stop();
    await backend.close();
  }
  await db.cleanup();
}

/**
 * The event store suite, its seams suite (watch, transaction) and the layers' probes (outside
 * and inside `transaction()`), through each of `configs`, on every registered adapter:
 * `backendTargets` × the configurations.
 */
export async function describeLayerMatrix(
  configs: Readonly<Record<string, LayerConfig>>,
): Promise<void> {
  for (const [kind, target] of Object.entries(backendTargets)) {
    const unavailable = await target.unavailable();
    describe.skipIf(unavailable !== undefined)(`${kind} backend`, () => {
      for (const [layers, config] of Object.entries(configs)) {
        describe(`through ${layers}`, () => {
          describeEventStoreConformance(
            `${kind} through ${layers}`,
            layeredHarness(target, config),
            {
              ...(config.skip ? { skip: config.skip } : {}),
            },
          );

          describeSubscriptionSeamsConformance(`${kind} through ${layers}`, async () => {
            const harness = await layeredHarness(target, config)();
            return { ...harness, ...(target.watching ? { watching: target.watching } : {}) };
          });

          describe(`the ${layers} layers at work`, () => {
            let db: FreshDatabase;
            let backend: Backend;
            let layered: LayeredStore;
            beforeEach(async () => {
              db = target.fresh();
              backend = await openBackend(db.url, { maxConnections: 4 });
              layered = await config.stack(backend);
            });
            afterEach(() => closeAll([{ backend, layered }], db));
            const context = (write: LayeredWrite) => ({
              write,
              layered,
              raw: backend.store,
              stream: (name: string) => config.stream?.(name) ?? name,
            });

            it('act on an append', () => config.probe(context((work) => work(layered.store))));

            it('act on tx.append inside transaction(), exactly as outside one', async () => {
              await config.probe(context((work) => layered.store.transaction((tx) => work(tx))));
              expect(layered.store.isClosed).toBe(false);
            });
          });
        });
      }
    });
  }
}

type LayeredWrite = Parameters<LayerConfig['probe']>[0]['write'];
