import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidEventError, type CausewayError } from '../core/errors.js';
import { CommandHandler } from '../domain/command-handler.js';
import type { Command } from '../domain/command.js';
import type { Decider, DomainEvent } from '../domain/decider.js';
import { collect } from '../store/collect.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import { MemorySchemaStorage } from './memory-schema-storage.js';
import {
  InvalidUpcasterError,
  SchemaValidationError,
  UnknownSchemaVersionError,
  UnregisteredEventTypeError,
  UpcastFailedError,
  UpcasterMissingError,
} from './schema-errors.js';
import { SchemaRegistry } from './schema-registry.js';
import { UpcasterChain, upcaster } from './upcaster.js';
import { instrumentEventStore } from '../observability/instrument-event-store.js';
import { schemaRegistryOf, withSchemas, type SchemaAwareEventStore } from './with-schemas.js';

// order.placed, three versions:
// v1 { orderId, total }                       total in whole euros
// v2 { orderId, total, currency }             currency added (default EUR)
// v3 { orderId, amount: { cents, currency } } money as an object, in cents
const V1 = z.object({ orderId: z.string(), total: z.number() });
const V2 = V1.extend({ currency: z.string().default('EUR') });
const V3 = z.object({
  orderId: z.string(),
  amount: z.object({ cents: z.number().int(), currency: z.string() }),
});
type V1 = z.infer<typeof V1>;
type V2 = z.output<typeof V2>;
type V3 = z.infer<typeof V3>;

const upcasters = [
  upcaster('order.placed', 1, (d: V1): V2 => ({ ...d, currency: 'EUR' })),
  upcaster('order.placed', 2, (d: V2): V3 => ({
    orderId: d.orderId,
    amount: { cents: Math.round(d.total * 100), currency: d.currency },
  })),
];

async function failure(promise: Promise<unknown>): Promise<CausewayError> {
  return (await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  )) as CausewayError;
}

describe('withSchemas', () => {
  let inner: MemoryEventStore;
  let registry: SchemaRegistry;
  let store: SchemaAwareEventStore;

  beforeEach(async () => {
    inner = new MemoryEventStore();
    registry = await SchemaRegistry.open({ defaultCompatibility: 'none' });
    await registry.register('order.placed', V1, { version: 1 });
    await registry.register('order.placed', V2, { version: 2 });
    await registry.register('order.placed', V3, { version: 3 });
    store = withSchemas(inner, { registry, upcasters });
  });

  afterEach(async () => {
    await store.close();
  });

  describe('append', () => {
    it('validates against the latest version and stamps it on the event', async () => {
      await store.append('order-1', [
        {
          type: 'order.placed',
          data: { orderId: 'o-1', amount: { cents: 1250, currency: 'EUR' } },
        },
      ]);
      const [stored] = await collect(inner.readStream('order-1'));
      expect(stored?.schemaVersion).toBe(3);
    });

    it('validates against an explicit older version', async () => {
      await store.append('order-2', [
        { type: 'order.placed', data: { orderId: 'o-2', total: 12.5 }, schemaVersion: 1 },
      ]);
      expect((await collect(inner.readStream('order-2')))[0]?.schemaVersion).toBe(1);
      const error = await failure(
        store.append('order-2', [
          { type: 'order.placed', data: { orderId: 'o-2', total: 12.5 }, schemaVersion: 3 },
        ]),
      );
      expect(error).toBeInstanceOf(SchemaValidationError);
    });

    it('refuses invalid data listing the failing paths, and writes nothing of the append', async () => {
      const error = await failure(
        store.append('order-3', [
          { type: 'order.placed', data: { orderId: 'o-3', amount: { cents: 1, currency: 'EUR' } } },
          { type: 'note.added', data: { anything: true } },
          { type: 'order.placed', data: { orderId: 3, amount: { cents: 1.5 } } },
        ]),
      );
      expect(error).toBeInstanceOf(SchemaValidationError);
      expect(error.code).toBe('SCHEMA_VALIDATION_FAILED');
      expect((error as SchemaValidationError).failures).toEqual([
        {
          request: 0,
          index: 2,
          eventType: 'order.placed',
          version: 3,
          issues: [
            { path: '$.orderId', message: 'must be string' },
            { path: '$.amount.currency', message: 'is required' },
            { path: '$.amount.cents', message: 'must be integer' },
          ],
        },
      ]);
      expect(error.message).toContain(
        'event 2 (order.placed v3): $.orderId must be string; $.amount.currency is required',
      );
      expect(await inner.headPosition()).toBe(0);
    });

    it('appendMany: a failure in any request writes none of them', async () => {
      const error = await failure(
        store.appendMany([
          {
            stream: 'order-4',
            events: [
              {
                type: 'order.placed',
                data: { orderId: 'a', amount: { cents: 1, currency: 'EUR' } },
              },
            ],
          },
          {
            stream: 'order-5',
            events: [
              { type: 'x', data: 1 },
              { type: 'order.placed', data: {} },
            ],
          },
        ]),
      );
      expect((error as SchemaValidationError).failures.map((f) => [f.request, f.index])).toEqual([
        [1, 1],
      ]);
      expect(error.message).toContain('event 1 of request 1');
      expect(await inner.headPosition()).toBe(0);
      await store.appendMany([
        {
          stream: 'order-4',
          events: [
            { type: 'order.placed', data: { orderId: 'a', amount: { cents: 1, currency: 'EUR' } } },
          ],
        },
      ]);
      expect((await collect(inner.readAll())).map((e) => e.schemaVersion)).toEqual([3]);
    });

    it('lets unregistered types pass unless strict', async () => {
      await store.append('note-1', [{ type: 'note.added', data: { free: 'form' } }]);
      expect((await collect(inner.readStream('note-1')))[0]?.schemaVersion).toBe(1);
      const strict = withSchemas(inner, { registry, strict: true });
      const error = await failure(
        strict.append('note-1', [
          { type: 'order.placed', data: { orderId: 'o', amount: { cents: 1, currency: 'EUR' } } },
          { type: 'note.added', data: {} },
        ]),
      );
      expect(error).toBeInstanceOf(UnregisteredEventTypeError);
      expect(error.message).toBe(
        'Event at index 1 has type "note.added", which has no registered schema (the store is strict)',
      );
      expect(await inner.headPosition()).toBe(1);
    });

    it('refuses a version that is not registered', async () => {
      const error = await failure(
        store.append('order-6', [{ type: 'order.placed', data: {}, schemaVersion: 9 }]),
      );
      expect(error).toBeInstanceOf(UnknownSchemaVersionError);
      expect(await inner.headPosition()).toBe(0);
    });

    it('sees versions another process registered meanwhile', async () => {
      const storage = new MemorySchemaStorage();
      const mine = await SchemaRegistry.open({ storage });
      const theirs = await SchemaRegistry.open({ storage });
      await mine.register('cart.opened', z.object({ cartId: z.string() }));
      const s = withSchemas(inner, { registry: mine, strict: true });
      await theirs.register(
        'cart.opened',
        z.object({ cartId: z.string(), channel: z.string().optional() }),
      );
      await theirs.register('cart.closed', z.object({ cartId: z.string() }));
      await s.append('cart-1', [
        { type: 'cart.opened', data: { cartId: 'c', channel: 'web' }, schemaVersion: 2 },
        { type: 'cart.closed', data: { cartId: 'c' } },
      ]);
      expect((await collect(inner.readStream('cart-1'))).map((e) => e.schemaVersion)).toEqual([
        2, 1,
      ]);
    });

    it('leaves malformed events to the store to refuse', async () => {
      await expect(
        store.append('order-7', [{ type: 'order.placed' } as never]),
      ).rejects.toBeInstanceOf(InvalidEventError);
      await expect(
        store.append('order-7', [{ type: 'order.placed', data: {}, schemaVersion: 0 }]),
      ).rejects.toBeInstanceOf(InvalidEventError);
    });
  });

  describe('upcasting on read', () => {
    async function writeAllVersions() {
      await inner.append('order-10', [
        { type: 'order.placed', data: { orderId: 'o-1', total: 12.5 }, schemaVersion: 1 },
        {
          type: 'order.placed',
          data: { orderId: 'o-2', total: 3, currency: 'USD' },
          schemaVersion: 2,
        },
        {
          type: 'order.placed',
          data: { orderId: 'o-3', amount: { cents: 99, currency: 'GBP' } },
          schemaVersion: 3,
        },
        { type: 'note.added', data: { text: 'untouched' }, schemaVersion: 1 },
      ]);
    }
    const current: [string, V3, number][] = [
      ['order.placed', { orderId: 'o-1', amount: { cents: 1250, currency: 'EUR' } }, 3],
      ['order.placed', { orderId: 'o-2', amount: { cents: 300, currency: 'USD' } }, 3],
      ['order.placed', { orderId: 'o-3', amount: { cents: 99, currency: 'GBP' } }, 3],
    ];

    it('readStream brings v1, v2 and v3 events to v3', async () => {
      await writeAllVersions();
      const events = await collect(store.readStream('order-10'));
      expect(events.map((e) => [e.type, e.data, e.schemaVersion])).toEqual([
        ...current,
        ['note.added', { text: 'untouched' }, 1],
      ]);
      for (const e of events.filter((e) => e.type === 'order.placed')) {
        expect(registry.validate(e.type, e.data).issues).toEqual([]);
      }
    });

    it('readAll does too, backward and filtered', async () => {
      await writeAllVersions();
      const events = await collect(
        store.readAll({ direction: 'backward', filter: { types: ['order.placed'] } }),
      );
      expect(events.map((e) => [e.type, e.data, e.schemaVersion])).toEqual([...current].reverse());
    });

    it('keeps the stored events as they were', async () => {
      await writeAllVersions();
      await collect(store.readAll());
      expect((await collect(inner.readStream('order-10'))).map((e) => e.schemaVersion)).toEqual([
        1, 2, 3, 1,
      ]);
    });

    it('keeps the rest of the envelope', async () => {
      await writeAllVersions();
      const [raw] = await collect(inner.readStream('order-10', { limit: 1 }));
      const [up] = await collect(store.readStream('order-10', { limit: 1 }));
      const strip = ({ data: _d, schemaVersion: _s, ...rest }: RecordedEvent) => rest;
      expect(strip(up!)).toEqual(strip(raw!));
    });

    it('a missing link names the event, its type and the versions', async () => {
      await writeAllVersions();
      const gappy = withSchemas(inner, { registry, upcasters: [upcasters[1]!] });
      const id = (await collect(inner.readStream('order-10', { limit: 1 })))[0]!.id;
      const error = await failure(collect(gappy.readStream('order-10')));
      expect(error).toBeInstanceOf(UpcasterMissingError);
      expect(error.code).toBe('UPCASTER_MISSING');
      expect(error).toMatchObject({
        eventId: id,
        eventType: 'order.placed',
        storedVersion: 1,
        targetVersion: 3,
        missingFrom: 1,
      });
      expect(error.message).toBe(
        `Cannot upcast event ${id} (order.placed) from v1 to v3: no upcaster from v1 to v2`,
      );
    });

    it("upcast: 'available' goes as far as the upcasters lead, and reads the rest as stored", async () => {
      await writeAllVersions();
      const firstOnly = withSchemas(inner, {
        registry,
        upcasters: [upcasters[0]!],
        upcast: 'available',
      });
      const versions = (await collect(firstOnly.readStream('order-10'))).map((e) => [
        e.type,
        e.schemaVersion,
      ]);
      // v1 → v2 (there is an upcaster), v2 and v3 as stored, the note untouched.
      expect(versions).toEqual([
        ['order.placed', 2],
        ['order.placed', 2],
        ['order.placed', 3],
        ['note.added', 1],
      ]);
      const none = withSchemas(inner, { registry, upcast: 'available' });
      expect((await collect(none.readAll())).map((e) => e.schemaVersion)).toEqual([1, 2, 3, 1]);
      // Appends are validated all the same.
      expect(
        await failure(none.append('order-11', [{ type: 'order.placed', data: { orderId: 1 } }])),
      ).toBeInstanceOf(SchemaValidationError);
    });

    it('schemaRegistryOf finds the registry of a withSchemas layer under other decorators', () => {
      expect(schemaRegistryOf(store)).toBe(registry);
      expect(schemaRegistryOf(instrumentEventStore(store))).toBe(registry);
      expect(schemaRegistryOf(inner)).toBeUndefined();
      expect(schemaRegistryOf(instrumentEventStore(inner))).toBeUndefined();
    });

    it('a throwing upcaster is reported with the event, type and versions, and the cause', async () => {
      await writeAllVersions();
      const boom = new RangeError('no exchange rate');
      const failing = withSchemas(inner, {
        registry,
        upcasters: [
          upcasters[0]!,
          upcaster('order.placed', 2, () => {
            throw boom;
          }),
        ],
      });
      const error = await failure(collect(failing.readAll()));
      expect(error).toBeInstanceOf(UpcastFailedError);
      expect(error).toMatchObject({ eventType: 'order.placed', fromVersion: 2, toVersion: 3 });
      expect(error.message).toMatch(
        /^Upcasting event [0-9a-f-]{36} \(order\.placed\) from v2 to v3 failed: no exchange rate$/,
      );
      expect(error.cause).toBe(boom);
    });

    it('validateUpcasted catches an upcaster producing the wrong shape', async () => {
      await writeAllVersions();
      const sloppy = withSchemas(inner, {
        registry,
        validateUpcasted: true,
        upcasters: [
          upcasters[0]!,
          upcaster('order.placed', 2, (d: V2) => ({ orderId: d.orderId })),
        ],
      });
      const error = await failure(collect(sloppy.readStream('order-10')));
      expect(error).toBeInstanceOf(UpcastFailedError);
      expect(error.message).toContain('the result does not match v3: $.amount is required');
    });

    it('upcasts types without a registered schema to the end of their chain', async () => {
      await inner.append('legacy-1', [{ type: 'legacy.thing', data: { a: 1 } }]);
      const s = withSchemas(inner, {
        registry,
        upcasters: [upcaster('legacy.thing', 1, (d: { a: number }) => ({ b: d.a }))],
      });
      expect((await collect(s.readStream('legacy-1')))[0]).toMatchObject({
        data: { b: 1 },
        schemaVersion: 2,
      });
    });

    it('passes events newer than the registry knows through unchanged', async () => {
      await inner.append('order-11', [
        { type: 'order.placed', data: { future: true }, schemaVersion: 4 },
      ]);
      expect((await collect(store.readStream('order-11')))[0]).toMatchObject({
        data: { future: true },
        schemaVersion: 4,
      });
    });

    it('refuses malformed or duplicate upcasters', () => {
      expect(() => new UpcasterChain([upcasters[0]!, upcasters[0]!])).toThrow(InvalidUpcasterError);
      expect(() => new UpcasterChain([upcaster('a', 0, (d) => d)])).toThrow(/fromVersion/);
      expect(() => new UpcasterChain([{ type: 'a', fromVersion: 1 } as never])).toThrow(
        /upcast must be a function/,
      );
    });
  });

  describe('pass-through', () => {
    it('delegates stream info, deletion, metadata, head and close', async () => {
      await store.append('order-20', [{ type: 'note.added', data: 1 }]);
      expect(await store.headPosition()).toBe(1);
      await store.setStreamMetadata('order-20', { owner: 'x' });
      expect((await store.streamInfo('order-20')).metadata).toEqual({ owner: 'x' });
      await store.deleteStream('order-20');
      expect((await inner.streamInfo('order-20')).deleted).toBe('soft');
      expect(store.isClosed).toBe(false);
      await store.close();
      expect(inner.isClosed).toBe(true);
      expect(store.isClosed).toBe(true);
    });
  });

  describe('with a command handler', () => {
    type Placed = DomainEvent<'order.placed', V3>;
    type Place = Command<'order.reprice', { cents: number }>;
    interface State {
      orders: number;
      cents: number;
    }
    const decider: Decider<Place, Placed, State> = {
      initialState: { orders: 0, cents: 0 },
      decide: (command) => [
        {
          type: 'order.placed',
          data: { orderId: 'new', amount: { cents: command.data.cents, currency: 'EUR' } },
        },
      ],
      // Only ever written for v3: upcasting makes that safe.
      evolve: (s, e) => ({ orders: s.orders + 1, cents: s.cents + e.data.amount.cents }),
    };

    it('loads upcasted events and appends validated ones at the latest version', async () => {
      await inner.append('order-30', [
        { type: 'order.placed', data: { orderId: 'o-1', total: 1 }, schemaVersion: 1 },
        {
          type: 'order.placed',
          data: { orderId: 'o-2', total: 2, currency: 'EUR' },
          schemaVersion: 2,
        },
      ]);
      const handler = new CommandHandler({ store, decider });
      const result = await handler.handle('order-30', {
        type: 'order.reprice',
        data: { cents: 5 },
      });
      expect(result.state).toEqual({ orders: 3, cents: 305 });
      expect((await collect(inner.readStream('order-30'))).map((e) => e.schemaVersion)).toEqual([
        1, 2, 3,
      ]);
      const bad = await failure(
        handler.handle('order-30', { type: 'order.reprice', data: { cents: 0.5 } }),
      );
      expect(bad).toBeInstanceOf(SchemaValidationError);
      expect(await inner.headPosition()).toBe(3);
    });
  });
});
