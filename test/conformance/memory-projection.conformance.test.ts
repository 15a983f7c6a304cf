import {
  MemoryEventStore,
  memoryProjectionStore,
  type DocumentReadModel,
  type StoreTransaction,
} from '@causewayjs/core';
import { describeProjectionConformance, type Tally } from '@causewayjs/testing';

interface StreamTally {
  count: number;
  sum: number;
}

describeProjectionConformance<StoreTransaction, DocumentReadModel>('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => {
      const store = new MemoryEventStore();
      return Promise.resolve({ store, projections: memoryProjectionStore(store) });
    },
    model: {
      setup: (rm) => {
        rm.collection('streams');
        rm.collection('applied');
      },
      add: (rm, event) => {
        const applied = rm.collection<number>('applied');
        const key = String(event.position);
        if (applied.has(key)) throw new Error(`position ${key} applied twice`);
        applied.put(key, event.position);
        rm.collection<StreamTally>('streams').update(event.stream, (t) => ({
          count: (t?.count ?? 0) + 1,
          sum: (t?.sum ?? 0) + (event.data as { n: number }).n,
        }));
      },
      read: (rm): Tally => {
        const streams = rm.collection<StreamTally>('streams');
        return {
          streams: streams.ids().map((id) => {
            const t = streams.get(id) as StreamTally;
            return [id, t.count, t.sum];
          }),
          applied: rm
            .collection<number>('applied')
            .find()
            .sort((a, b) => a - b),
        };
      },
    },
    cleanup: () => Promise.resolve(),
  }),
);
