import type { EventStore } from '@causewayjs/core';
import type { BenchEvent } from '../peers/store-peer.js';

/**
 * Every column of an event as the store reads it: what a raw read must select to do "the
 * same reads" as a read through the store, which hands out whole events.
 */
export const EVENT_COLUMNS =
  'position, id, stream, revision, type, data, metadata, schema_version, recorded_at';

const TYPES = ['order.placed', 'order.item-added', 'order.paid', 'order.shipped'] as const;
const WAREHOUSES = ['north-1', 'north-2', 'south-1', 'east-3'] as const;
const NOTES = [
  'gift wrap please, leave at the back door',
  'call before delivery, ring twice and wait',
  'no substitutions, deliver after 6 pm only',
] as const;

/**
 * The `n`-th benchmark event: an order event whose data is about 200 bytes of JSON, with
 * values that differ from event to event (so nothing compresses or caches unrealistically).
 */
export function benchEvent(n: number): BenchEvent {
  return {
    type: TYPES[n % TYPES.length] as string,
    data: {
      orderId: `order-${String(n).padStart(10, '0')}`,
      customerId: `customer-${String(n % 100_003).padStart(6, '0')}`,
      sku: `SKU-${String((n * 7919) % 1_000_000).padStart(6, '0')}`,
      quantity: 1 + (n % 9),
      unitPriceCents: 100 + ((n * 31) % 99_900),
      currency: 'EUR',
      warehouse: WAREHOUSES[n % WAREHOUSES.length],
      note: NOTES[n % NOTES.length],
    },
  };
}

/**
 * Appends `events` benchmark events (see {@link benchEvent}) over 5,000 order streams, ten
 * events per stream per append and a thousand per call.
 */
export async function fillOrders(
  store: Pick<EventStore, 'appendMany'>,
  events: number,
): Promise<void> {
  for (let n = 0; n < events; n += 1000) {
    const size = Math.min(1000, events - n);
    await store.appendMany(
      Array.from({ length: size / 10 }, (_, i) => ({
        stream: `order-${(n / 10 + i) % 5000}`,
        events: Array.from({ length: 10 }, (_, j) => benchEvent(n + i * 10 + j)),
      })),
    );
  }
}
