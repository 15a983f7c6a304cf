import { SagaRuntime, collect, newId, openBackend, type Backend } from '@causewayjs/core';
import { createFulfilmentSaga, createShopDispatcher } from '../../examples/shop/fulfilment-saga.js';
import { pgUrl } from '../support/postgres.js';

/** Partitions of the fulfilment saga in these tests. */
export const PARTITIONS = 8;
const SKUS = ['tea', 'cup', 'pot', 'jug', 'mug'];

/** Every fifth order is paid with a card the shop declines: it ends compensated. */
export const declined = (i: number) => i % 5 === 3;

/** Opens the test schema as one process would. */
export function openSchema(schema: string): Promise<Backend> {
  return openBackend(pgUrl, { schema, maxConnections: 4 });
}

/** A member of the saga's group: its own store connection, runtime and id. */
export async function startMember(
  schema: string,
  memberId: string,
): Promise<{ runtime: SagaRuntime; close(): Promise<void> }> {
  const backend = await openSchema(schema);
  const runtime = new SagaRuntime({
    storage: await backend.subscriptionStorage(),
    sagaStore: await backend.sagaStore(),
    sagas: [createFulfilmentSaga()],
    dispatcher: createShopDispatcher(backend.store),
    owner: memberId,
    lease: { ttlMs: 3000, retryIntervalMs: 50 },
    outbox: { pollIntervalMs: 50 },
    timers: { pollIntervalMs: 200 },
    partitions: {
      count: PARTITIONS,
      membership: await backend.groupMembership(),
      memberId,
      leaseTtlMs: 3000,
      heartbeatIntervalMs: 100,
    },
  });
  await runtime.start();
  return {
    runtime,
    async close() {
      await runtime.stop();
      await backend.close();
    },
  };
}

/** Restocks the shop and places `orders` orders, `o0`..., through the shop's handlers. */
export async function placeOrders(backend: Backend, orders: number, from = 0): Promise<void> {
  const shop = createShopDispatcher(backend.store);
  if (from === 0)
    for (const sku of SKUS)
      await shop.dispatch({
        id: newId(),
        type: 'inventory.restock',
        data: { sku, quantity: 10_000 },
        metadata: {},
      });
  for (let i = from; i < from + orders; i++) {
    const reply = await shop.dispatch({
      id: newId(),
      type: 'order.place',
      data: {
        orderId: `o${i}`,
        customerId: `c${i}`,
        lines: [
          { sku: SKUS[i % SKUS.length] as string, quantity: 1 + (i % 3), unitPrice: 450 },
          { sku: SKUS[(i * 3 + 1) % SKUS.length] as string, quantity: 1, unitPrice: 1200 },
        ],
        ...(declined(i) ? { paymentMethod: 'declined-card' } : {}),
      },
      metadata: {},
    });
    if (reply.status !== 'accepted') throw new Error(`order o${i}: ${JSON.stringify(reply)}`);
  }
}

/** Instances that ended, completed or compensated. */
export async function ended(backend: Backend): Promise<number> {
  const sagaStore = await backend.sagaStore();
  const completed = (await sagaStore.countInstances?.({ status: 'completed' })) ?? 0;
  const compensated = (await sagaStore.countInstances?.({ status: 'compensated' })) ?? 0;
  return completed + compensated;
}

/** An instance with what does not depend on timing or ids: what 1 and N members must agree on. */
export interface InstanceOutcome {
  id: string;
  status: string;
  step: string;
  state: unknown;
  /** The commands it sent and the compensations it ran, by type and data, in order. */
  sent: { kind: string; type: string; detail: unknown }[];
}

/**
 * Checks the run on `schema`: returns each instance's outcome; throws when a command's
 * effects were appended twice, a command is not settled, or an instance received its events
 * in another order than the log's.
 */
export async function checkRun(backend: Backend, orders: number): Promise<InstanceOutcome[]> {
  const sagaStore = await backend.sagaStore();
  const saga = createFulfilmentSaga();
  const events = await collect(backend.store.readAll());
  // 0 duplicated effects: each command's events (caused by its id) are appended once.
  const seen = new Map<string, number>();
  for (const e of events) {
    const cause = e.metadata.causationId;
    if (typeof cause !== 'string') continue;
    const key = `${cause}\u0000${e.stream}\u0000${e.type}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const twice = [...seen].filter(([, n]) => n > 1);
  if (twice.length > 0) throw new Error(`effects appended twice: ${JSON.stringify(twice)}`);
  const commands = await sagaStore.listCommands({ limit: 1000 });
  const unsettled = commands.filter((c) => c.status !== 'sent');
  if (unsettled.length > 0)
    throw new Error(`commands not sent once: ${JSON.stringify(unsettled.map((c) => c.status))}`);
  const ids = new Set(commands.map((c) => c.command.id));
  if (ids.size !== commands.length) throw new Error('a command was recorded twice');
  // Per-instance order: the events received are the instance's events, in log order.
  const byInstance = new Map<string, string[]>();
  for (const e of events) {
    if (!saga.startsWith.includes(e.type) && !saga.handles.includes(e.type)) continue;
    const id = saga.correlate(e);
    if (typeof id !== 'string') continue;
    byInstance.set(id, [...(byInstance.get(id) ?? []), e.id]);
  }
  const outcomes: InstanceOutcome[] = [];
  for (let i = 0; i < orders; i++) {
    const view = await sagaStore.getInstance(saga.name, `o${i}`);
    if (!view) throw new Error(`o${i} has no instance`);
    const received = view.history
      .filter(
        (h) => h.kind === 'received' && (h.detail as { outcome?: string })?.outcome !== 'duplicate',
      )
      .map((h) => h.id);
    const logged = byInstance.get(`o${i}`) ?? [];
    // An event after the end is recorded as ignored: the received list is the log's prefix
    // up to what the instance saw, in the same order.
    if (JSON.stringify(received) !== JSON.stringify(logged.slice(0, received.length)))
      throw new Error(`o${i} received ${received.join(',')} but the log has ${logged.join(',')}`);
    outcomes.push({
      id: view.id,
      status: view.status,
      step: view.step,
      state: view.state,
      sent: view.history
        .filter((h) => h.kind === 'sent' || h.kind === 'compensation')
        .map((h) => ({ kind: h.kind, type: h.type, detail: h.detail })),
    });
  }
  return outcomes;
}
