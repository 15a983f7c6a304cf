import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { z } from 'zod';
import {
  Projector,
  SchemaRegistry,
  SchemaValidationError,
  TenantForbiddenError,
  collect,
  defineProjection,
  stackBackend,
  upcaster,
  verifyStore,
  type Backend,
  type BackendLayers,
  type EventStore,
  type RecordedEvent,
  type TransactionalEventStore,
  type AppendTarget,
} from '@causewayjs/core';
import { CausewayMetrics } from '@causewayjs/core/internals';
import type { ConformanceSkip } from '@causewayjs/testing';

/**
 * The store decorators the conformance suites run through: every layer of `storeStack`, and
 * the projector's inline projections, which go on top of a stack.
 */
export type LayerName = keyof BackendLayers | 'inlineProjections';

/** A layered store opened on a backend, and what to stop before the backend closes. */
export interface LayeredStore {
  store: TransactionalEventStore;
  stop(): Promise<void>;
  /** Ids of the events the inline projection applied, when the layers have one. */
  applied?: ReadonlySet<string>;
}

/** What a layer's probe gets: where to write, and where to look. */
export interface ProbeContext {
  /**
   * Runs `work` against the layered store: with the store itself as the target, or with the
   * `tx` of its `transaction()`, so that a probe proves an append inside a transaction goes
   * through the layer exactly as one outside it.
   */
  write: <T>(work: (to: AppendTarget) => Promise<T>) => Promise<T>;
  layered: LayeredStore;
  /** The adapter's own store under the layers: what is really stored. */
  raw: EventStore;
  /** The suite's stream `name` as the layers name it. */
  stream: (name: string) => string;
}

/** How the suites run through one configuration of layers. */
export interface LayerConfig {
  /** The layered store over a freshly opened backend. */
  stack: (backend: Backend) => Promise<LayeredStore>;
  /** The name a suite's stream has through these layers (default: unchanged). */
  stream?: (name: string) => string;
  /** Metadata keys these layers add to what they write. */
  addedMetadata: readonly string[];
  /** Event store suite cases that cannot hold through these layers, with the reason. */
  skip?: readonly ConformanceSkip[];
  /**
   * Proves the layers act on the suite's kind of events (validate, encrypt, chain, scope,
   * trace, project), checking what is really stored.
   */
  probe: (context: ProbeContext) => Promise<void>;
}

/** The tenant the tenant-scoped runs are bound to. */
export const TENANT = 'acme';
const tenantStream = (name: string) => `${TENANT}:${name}`;

/**
 * The suite's event types with a schema: `order.placed` has two versions (v2 adds an optional
 * currency, which the upcaster from v1 fills in), so reads of stored v1 events are upcast.
 */
export async function layerSchemas(): Promise<SchemaRegistry> {
  const registry = await SchemaRegistry.open({ defaultCompatibility: 'none' });
  const counted = z.object({ n: z.number() });
  await registry.register('order.placed', counted, { version: 1 });
  await registry.register('order.placed', counted.extend({ currency: z.string().optional() }), {
    version: 2,
  });
  await registry.register('order.paid', counted, { version: 1 });
  await registry.register('cart.opened', counted, { version: 1 });
  for (const type of ['e', 'bulk', 'move'])
    await registry.register(type, z.number(), { version: 1 });
  return registry;
}

/** The upcaster of `order.placed` v1 → v2. */
export const layerUpcasters = [
  upcaster('order.placed', 1, (d: { n: number }) => ({ ...d, currency: 'EUR' })),
];

/** Who the suite's personal fields belong to. */
export const SUBJECT = 'subject-1';

/** The signing key of the hash chains, and its public half for `verifyStore`. */
export const signingKeys = generateKeyPairSync('ed25519');

/**
 * Each layer configured so that the suite's own events exercise it: schemas for the types it
 * appends, personal fields that its data carries, a signing key, a tenant, tracing with metrics.
 */
export async function layerSettings(): Promise<Required<BackendLayers>> {
  return {
    schemas: { registry: await layerSchemas(), upcasters: layerUpcasters },
    encryption: {
      masterKey: { id: 'layers-1', key: randomBytes(32).toString('base64') },
      personal: {
        a: { subject: () => SUBJECT, fields: ['$.n', '$.x'] },
        'order.placed': { subject: () => SUBJECT, fields: ['$.n'] },
        'thing.happened': { subject: () => SUBJECT, fields: ['$.text'] },
      },
    },
    integrity: { signingKey: signingKeys.privateKey, keyId: 'layers' },
    tenant: TENANT,
    tracing: { metrics: new CausewayMetrics({ processMetrics: false }), tracing: true },
  };
}

/** The suite's event types the inline projection applies. */
const PROJECTED = ['order.placed', 'order.paid', 'a', 'b', 'c', 'e', 'x', 'bulk', 'move'];

/**
 * A Projector with one inline projection over `backend`'s (possibly stacked) store: it
 * records each event it applies and fails the append when one comes twice.
 */
async function withInlineProjection(backend: Backend): Promise<LayeredStore> {
  const applied = new Set<string>();
  const projector = new Projector({
    store: await backend.projectionStore(),
    projections: [
      defineProjection<unknown>({
        name: 'layer-probe',
        version: 1,
        mode: 'inline',
        handles: PROJECTED,
        setup: () => undefined,
        apply: (event) => {
          if (applied.has(event.id)) throw new Error(`event ${event.id} applied twice`);
          applied.add(event.id);
        },
      }),
    ],
  });
  await projector.start();
  return { store: projector.store, stop: () => projector.stop(), applied };
}

/** The stored copy of the event at `position`. */
async function rawAt(raw: EventStore, position: number): Promise<RecordedEvent> {
  const [event] = await collect(raw.readAll({ from: position, limit: 1 }));
  if (event?.position !== position) throw new Error(`nothing stored at ${position}`);
  return event;
}

const probes = {
  /** Refuses data its schema does not accept (nothing written); upcasts stored v1 events. */
  schemas: async ({ write, raw, layered, stream }) => {
    const head = await raw.headPosition();
    const refused = await write((to) =>
      to.append(stream('order-bad'), [{ type: 'order.placed', data: { n: 'one' } }]),
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SchemaValidationError);
    expect(await raw.headPosition()).toBe(head);
    const { position } = await write((to) =>
      to.append(stream('order-ok'), [{ type: 'order.placed', data: { n: 2 } }]),
    );
    expect((await rawAt(raw, position)).schemaVersion).toBe(2);
    // An event stored at v1 (before v2 existed) reads upcast.
    const old = await raw.append(stream('order-old'), [
      { type: 'order.placed', data: { n: 3 }, schemaVersion: 1, metadata: { tenant: TENANT } },
    ]);
    const [read] = await collect(layered.store.readStream(stream('order-old')));
    expect(read).toMatchObject({ position: old.position, schemaVersion: 2 });
    expect(read?.data).toEqual({ n: 3, currency: 'EUR' });
  },
  /** Stores personal fields as ciphertext, and reads them back decrypted. */
  encryption: async ({ write, raw, layered, stream }) => {
    const { position } = await write((to) =>
      to.append(stream('personal-1'), [{ type: 'a', data: { n: 7, kept: 'clear' } }]),
    );
    const stored = await rawAt(raw, position);
    expect(stored.data).toMatchObject({
      n: expect.stringMatching(/^cw1:/) as unknown,
      kept: 'clear',
    });
    expect(stored.metadata.encryption).toMatchObject({ subject: SUBJECT, fields: ['$.n'] });
    const [read] = await collect(layered.store.readStream(stream('personal-1')));
    expect(read?.data).toEqual({ n: 7, kept: 'clear' });
  },
  /** Chains every event onto the one before it, signed, across appends. */
  integrity: async ({ write, raw, stream }) => {
    const name = stream('chained-1');
    await write(async (to) => {
      await to.append(name, [
        { type: 'b', data: 1 },
        { type: 'b', data: 2 },
      ]);
      await to.append(name, [{ type: 'b', data: 3 }]);
    });
    const links = (await collect(raw.readStream(name))).map(
      (e) => e.metadata.integrity as { hash: string; prev: string; sig?: string; kid?: string },
    );
    expect(links).toHaveLength(3);
    for (const [i, link] of links.entries()) {
      expect(link).toMatchObject({ sig: expect.any(String) as unknown, kid: 'layers' });
      if (i > 0) expect(link.prev).toBe(links[i - 1]?.hash);
    }
    const report = await verifyStore(raw, { stream: name, publicKey: signingKeys.publicKey });
    expect(report).toMatchObject({ ok: true, events: 3 });
  },
  /** Stamps the tenant, and refuses another tenant's stream (nothing written). */
  tenant: async ({ write, raw, stream }) => {
    const head = await raw.headPosition();
    const refused = await write((to) =>
      to.append('globex:order-1', [{ type: 'b', data: 1 }]),
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TenantForbiddenError);
    expect(await raw.headPosition()).toBe(head);
    const { position } = await write((to) => to.append(stream('mine-1'), [{ type: 'b', data: 1 }]));
    expect((await rawAt(raw, position)).metadata.tenant).toBe(TENANT);
  },
  /** Stamps the trace context of the append's span. */
  tracing: async ({ write, raw, stream }) => {
    const { position } = await write((to) =>
      to.append(stream('traced-1'), [{ type: 'b', data: 1 }]),
    );
    expect((await rawAt(raw, position)).metadata.traceparent).toMatch(
      /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/,
    );
  },
  /** Applies the appended events in the append's transaction. */
  inlineProjections: async ({ write, layered, stream }) => {
    const { position } = await write((to) =>
      to.append(stream('projected-1'), [{ type: 'a', data: 1 }]),
    );
    const [event] = await collect(layered.store.readAll({ from: position, limit: 1 }));
    expect(layered.applied?.has(event?.id ?? '')).toBe(true);
  },
} satisfies Record<LayerName, LayerConfig['probe']>;

/**
 * Appends issued together without waiting are written in issue order by the store (its group
 * commit), but not through a layer that does something first: which of them succeed is the
 * same, the order they land in is not (and the store's contract promises none between
 * concurrent calls).
 */
const concurrentOrder = (reason: string): ConformanceSkip => ({
  reason: `concurrent appends may land out of issue order: ${reason}`,
  tests: ['append > a conflict in a concurrent batch fails only its own append'],
});

/** One layer alone, from `settings`. */
function single<K extends keyof BackendLayers>(
  name: K,
  settings: Required<BackendLayers>,
  config: Omit<LayerConfig, 'stack' | 'probe'>,
): LayerConfig {
  return {
    ...config,
    stack: async (backend) => ({
      store: (await stackBackend(backend, { [name]: settings[name] })).store,
      stop: () => Promise.resolve(),
    }),
    probe: probes[name],
  };
}

/**
 * Every configuration the suites run through: each layer alone, then the full production
 * stack (every layer of `storeStack`, in its order, with the inline projections on top). Typed
 * by the layers: adding a layer to `storeStack` without configuring it here does not compile.
 */
export async function layerConfigs(): Promise<
  { readonly [K in LayerName]: LayerConfig } & { readonly fullStack: LayerConfig }
> {
  const settings = await layerSettings();
  return {
    schemas: single('schemas', settings, { addedMetadata: [] }),
    encryption: single('encryption', settings, { addedMetadata: ['encryption'] }),
    integrity: single('integrity', settings, {
      addedMetadata: ['integrity'],
      skip: [concurrentOrder('the hash chain reads each stream head before appending')],
    }),
    tenant: single('tenant', settings, { addedMetadata: ['tenant'], stream: tenantStream }),
    tracing: single('tracing', settings, { addedMetadata: ['traceparent'] }),
    inlineProjections: {
      addedMetadata: [],
      skip: [concurrentOrder('each append is a transaction of its own, applying the projection')],
      stack: withInlineProjection,
      probe: probes.inlineProjections,
    },
    fullStack: {
      addedMetadata: ['encryption', 'integrity', 'tenant', 'traceparent'],
      stream: tenantStream,
      skip: [
        concurrentOrder('the chain reads stream heads, and each append is its own transaction'),
      ],
      stack: async (backend) => withInlineProjection(await stackBackend(backend, settings)),
      probe: async (context) => {
        for (const probe of Object.values(probes)) await probe(context);
      },
    },
  };
}
