import {
  ManualClock,
  MemoryEventStore,
  MemorySagaStore,
  SagaRuntime,
  memorySubscriptionStorage,
  newId,
  type CommandDispatcher,
  type EventStore,
  type SagaRuntimeOptions,
} from '@causewayjs/core';
import { createFulfilmentSaga, createShopDispatcher } from '../../examples/shop/fulfilment-saga.js';
import { orderStream } from '../../examples/shop/order-decider.js';
import type { DeclinePolicy } from '../../examples/shop/payment-decider.js';

/** Restocks `skus` and places an order for them through the shop's dispatcher. */
export async function stockAndPlace(
  store: EventStore,
  orderId: string,
  lines: { sku: string; quantity: number; unitPrice: number }[],
  stock: Record<string, number>,
  paymentMethod?: string,
): Promise<void> {
  const dispatcher = createShopDispatcher(store);
  for (const [sku, quantity] of Object.entries(stock)) {
    if (quantity > 0)
      await dispatcher.dispatch({
        id: newId(),
        type: 'inventory.restock',
        data: { sku, quantity },
        metadata: {},
      });
  }
  const reply = await dispatcher.dispatch({
    id: newId(),
    type: 'order.place',
    data: { orderId, customerId: 'c-1', lines, ...(paymentMethod ? { paymentMethod } : {}) },
    metadata: {},
  });
  if (reply.status !== 'accepted') throw new Error(`order not placed: ${JSON.stringify(reply)}`);
  void orderStream;
}

/** A memory store with the fulfilment saga running on it. */
export function memoryShop(
  options: {
    paymentTimeoutMs?: number;
    declinePolicy?: DeclinePolicy;
    /** Wraps the shop's dispatcher (to fail, delay or answer some commands). */
    wrap?: (inner: CommandDispatcher) => CommandDispatcher;
    runtime?: Partial<SagaRuntimeOptions>;
  } = {},
) {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = new MemoryEventStore({ clock });
  const storage = memorySubscriptionStorage(store, { clock });
  const sagaStore = new MemorySagaStore();
  const dispatcher = createShopDispatcher(
    store,
    options.declinePolicy ? { declinePolicy: options.declinePolicy } : {},
  );
  const runtimeOptions: SagaRuntimeOptions = {
    storage,
    sagaStore,
    sagas: [createFulfilmentSaga({ paymentTimeoutMs: options.paymentTimeoutMs ?? 30_000 })],
    dispatcher: options.wrap ? options.wrap(dispatcher) : dispatcher,
    clock,
    lease: false,
    ...options.runtime,
  };
  const runtime = new SagaRuntime(runtimeOptions);
  /** The options the runtime was made with: a restart makes a new runtime from them. */
  return { clock, store, storage, sagaStore, dispatcher, runtime, runtimeOptions };
}
