import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SqliteEventStore, SqliteSchemaStorage } from '@causewayjs/sqlite';
import {
  CommandHandler,
  SchemaRegistry,
  SchemaValidationError,
  collect,
  upcaster,
  withSchemas,
  type Command,
  type Decider,
  type DomainEvent,
} from '@causewayjs/core';

// order.placed, released three times:
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

/** A decider written only for v3: upcasting is what lets it read the older events. */
type Placed = DomainEvent<'order.placed', V3>;
type Summarised = DomainEvent<'orders.summarised', { orders: number; cents: number }>;
const summary: Decider<
  Command<'orders.summarise', null>,
  Placed | Summarised,
  { orders: number; cents: number }
> = {
  initialState: () => ({ orders: 0, cents: 0 }),
  decide: (_command, state) => [{ type: 'orders.summarised', data: state }],
  evolve: (state, event) =>
    event.type === 'order.placed'
      ? { orders: state.orders + 1, cents: state.cents + event.data.amount.cents }
      : state,
};

describe('upcasting on read through SQLite, across releases', () => {
  let dir: string;
  let file: string;
  const opened: SqliteEventStore[] = [];

  /** One release of the application: a process opening the file with its own schemas. */
  async function release(schemas: z.ZodType[], options: { upcast?: boolean } = {}) {
    const events = SqliteEventStore.open(file);
    opened.push(events);
    const registry = await SchemaRegistry.open({ storage: SqliteSchemaStorage.open(events) });
    // v2 → v3 reshapes the data: a deliberate break, made explicit by the type's mode.
    await registry.setCompatibility('order.placed', 'none');
    for (const [i, schema] of schemas.entries()) {
      await registry.register('order.placed', schema, { version: i + 1 });
    }
    const store = withSchemas(events, {
      registry,
      ...(options.upcast && { upcasters }),
      validateUpcasted: true,
    });
    return { events, registry, store };
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-upcasting-'));
    file = join(dir, 'events.db');
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores v1, v2 and v3 events and reads them all back at v3', async () => {
    const first = await release([V1]);
    await first.store.append('order-1', [
      { type: 'order.placed', data: { orderId: 'o-1', total: 12.5 } },
    ]);
    await first.events.close();

    const second = await release([V1, V2]);
    await second.store.append('order-2', [
      { type: 'order.placed', data: { orderId: 'o-2', total: 3, currency: 'USD' } },
    ]);
    await second.events.close();

    const third = await release([V1, V2, V3], { upcast: true });
    await third.store.append('order-3', [
      { type: 'order.placed', data: { orderId: 'o-3', amount: { cents: 99, currency: 'GBP' } } },
    ]);
    // The registry persisted in the file has every version each release registered.
    expect(third.registry.versions('order.placed').map((v) => v.version)).toEqual([1, 2, 3]);

    const expected: [string, V3, number][] = [
      ['order-1', { orderId: 'o-1', amount: { cents: 1250, currency: 'EUR' } }, 3],
      ['order-2', { orderId: 'o-2', amount: { cents: 300, currency: 'USD' } }, 3],
      ['order-3', { orderId: 'o-3', amount: { cents: 99, currency: 'GBP' } }, 3],
    ];
    const all = await collect(third.store.readAll());
    expect(all.map((e) => [e.stream, e.data, e.schemaVersion])).toEqual(expected);
    const one = await collect(third.store.readStream('order-1'));
    expect(one.map((e) => [e.stream, e.data, e.schemaVersion])).toEqual([expected[0]]);
    const backward = await collect(third.store.readAll({ direction: 'backward' }));
    expect(backward.map((e) => e.data)).toEqual(expected.map(([, data]) => data).reverse());

    // The file still holds each event as it was written.
    const raw = await collect(third.events.readAll());
    expect(raw.map((e) => [e.schemaVersion, e.data])).toEqual([
      [1, { orderId: 'o-1', total: 12.5 }],
      [2, { orderId: 'o-2', total: 3, currency: 'USD' }],
      [3, { orderId: 'o-3', amount: { cents: 99, currency: 'GBP' } }],
    ]);

    // Writes now validate against v3: an old-shaped event is refused, nothing written.
    await expect(
      third.store.append('order-4', [{ type: 'order.placed', data: { orderId: 'o-4', total: 1 } }]),
    ).rejects.toBeInstanceOf(SchemaValidationError);
    expect(await collect(third.events.readStream('order-4'))).toEqual([]);
  });

  it('lets a command handler decide on upcasted events', async () => {
    const first = await release([V1]);
    await first.store.append('orders', [
      { type: 'order.placed', data: { orderId: 'o-1', total: 1 } },
      { type: 'order.placed', data: { orderId: 'o-2', total: 2.5 } },
    ]);
    await first.events.close();
    const second = await release([V1, V2]);
    await second.store.append('orders', [
      { type: 'order.placed', data: { orderId: 'o-3', total: 1, currency: 'EUR' } },
    ]);
    await second.events.close();

    const third = await release([V1, V2, V3], { upcast: true });
    await third.store.append('orders', [
      { type: 'order.placed', data: { orderId: 'o-4', amount: { cents: 5, currency: 'EUR' } } },
    ]);
    const handler = new CommandHandler({ store: third.store, decider: summary });
    const result = await handler.handle('orders', { type: 'orders.summarise', data: null });
    expect(result.events.map((e) => e.data)).toEqual([{ orders: 4, cents: 100 + 250 + 100 + 5 }]);
    expect(result.revision).toBe(4);
  });
});
