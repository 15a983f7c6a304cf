// Shared by the federation tests: a source workload, the translation they bridge it with,
// and what the target must hold afterwards.
import {
  type RecordedEvent,
  bridgeAppends,
  contextMap,
  composeTranslations,
  enrichEvents,
  type Translation,
  collect,
  type EventStore,
} from '@causewayjs/core';

/** The shop's orders as the sales context sees them. */
export const shopToSales: Translation = composeTranslations(
  contextMap({
    'order.placed': {
      type: 'sales.order-opened',
      stream: 'sales-{stream}',
      fields: { orderId: 'orderId', total: 'total' },
    },
    'order.cancelled': [
      { type: 'sales.order-closed', stream: 'sales-{stream}', fields: { orderId: 'orderId' } },
      {
        type: 'sales.refund-due',
        stream: 'refunds',
        fields: { orderId: 'orderId', total: 'total' },
      },
    ],
    // order.noted is the shop's own business: dropped.
  }),
  enrichEvents(() => ({ metadata: { context: 'sales' } })),
);

/** Appends `count` shop events over 20 order streams, in appends of 10. */
export async function appendShopEvents(store: EventStore, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i += 10) {
    await store.appendMany(
      Array.from({ length: 10 }, (_, j) => {
        const n = i + j;
        const type = n % 7 === 3 ? 'order.cancelled' : n % 5 === 1 ? 'order.noted' : 'order.placed';
        return {
          stream: `order-${n % 20}`,
          events: [{ type, data: { orderId: `o${n % 20}`, total: n, seq: n } }],
        };
      }),
    );
  }
}

/** The target's events, as compared: id, stream, type, data. */
export interface Carried {
  id: string;
  stream: string;
  type: string;
  data: unknown;
}

/** What the target must hold: the source translated, in source order. */
export async function expectedTarget(
  source: EventStore,
  sourceId: string,
  translation: Translation,
): Promise<Carried[]> {
  const out: Carried[] = [];
  for (const event of await collect(source.readAll()))
    for (const request of await bridgeAppends(event, { sourceId, translation }))
      for (const e of request.events)
        out.push({ id: e.id as string, stream: request.stream, type: e.type, data: e.data });
  return out;
}

/** The target's events, in its log's order. */
export async function targetEvents(target: EventStore): Promise<Carried[]> {
  return (await collect(target.readAll())).map((e: RecordedEvent) => ({
    id: e.id,
    stream: e.stream,
    type: e.type,
    data: e.data,
  }));
}
