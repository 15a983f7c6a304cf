// A tour of the event store: what `npm start` runs until the shop example replaces it.
// Set STORE_URL to try another adapter, e.g. STORE_URL=postgres://postgres@127.0.0.1/test npm start
import { WrongExpectedRevisionError, collect, newId, openEventStore } from '../src/index.js';

const url = process.env.STORE_URL ?? 'sqlite:./data/events.db';
const store = await openEventStore(url);
console.log(`Causeway event store demo on ${url}\n`);

const orderId = newId().slice(-12);
const stream = `order-${orderId}`;

// 1. Create a stream: 'no_stream' guarantees nobody else created it first.
const placed = await store.append(
  stream,
  [
    {
      type: 'order.placed',
      data: { orderId, customer: 'ada', lines: [{ sku: 'tea', qty: 2, price: 4.5 }] },
    },
    { type: 'order.line-added', data: { sku: 'mug', qty: 1, price: 12 } },
  ],
  { expectedRevision: 'no_stream' },
);
console.log(
  `appended 2 events to ${stream}: revision ${placed.revision}, global position ${placed.position}`,
);

// 2. Optimistic concurrency: two writers both decided on revision 1; only one wins.
const [a, b] = await Promise.allSettled([
  store.append(stream, [{ type: 'order.paid', data: { amount: 21 } }], {
    expectedRevision: placed.revision,
  }),
  store.append(stream, [{ type: 'order.cancelled', data: { reason: 'changed mind' } }], {
    expectedRevision: placed.revision,
  }),
]);
for (const r of [a, b]) {
  if (r.status === 'fulfilled') console.log(`one writer won at revision ${r.value.revision}`);
  else if (r.reason instanceof WrongExpectedRevisionError) {
    console.log(
      `the other got ${r.reason.code}: expected ${String(r.reason.expected)}, stream is at ${String(r.reason.actual)}`,
    );
  }
}

// 3. Idempotent retries: the same event id appended twice is stored once.
const shipmentId = newId();
const ship = { id: shipmentId, type: 'order.shipped', data: { carrier: 'post' } };
const first = await store.append(stream, [ship]);
const retry = await store.append(stream, [ship]);
console.log(
  `retrying an append returns the stored result: position ${first.position} === ${retry.position}`,
);

// 4. Read it back: one stream in order, and the global log filtered by type.
console.log(`\n${stream}:`);
for await (const e of store.readStream(stream)) {
  console.log(`  #${e.revision} @${e.position} ${e.type} ${JSON.stringify(e.data)}`);
}
const placedOrders = await collect(store.readAll({ filter: { types: ['order.placed'] } }));
console.log(
  `\norders placed in this store so far: ${placedOrders.length}; log head at position ${await store.headPosition()}`,
);

await store.close();
