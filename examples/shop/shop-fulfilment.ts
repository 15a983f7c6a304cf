import type { Logger } from 'pino';
import {
  type CommandDispatcher,
  SagaRuntime,
  type SagaQuery,
  type Backend as StoreContext,
} from '@causewayjs/core';
import { createFulfilmentSaga } from './fulfilment-saga.js';

/** The running order-fulfilment saga. */
export interface FulfilmentHandle {
  readonly sagas: SagaQuery;
  readonly runtime: SagaRuntime;
  stop(): Promise<void>;
}

/** Options of {@link startFulfilment}. */
export interface FulfilmentOptions {
  context: StoreContext;
  dispatcher: CommandDispatcher;
  /** How long the saga waits for a payment answer before compensating, in ms. */
  paymentTimeoutMs: number;
  logger?: Logger;
}

/**
 * Starts the order-fulfilment saga (`fulfilment-saga.ts`) on the saga runtime, in the
 * store's database, dispatching its commands to the shop's handlers. With several processes
 * on one database, the saga's subscription, its outbox and its timers each run in one of them
 * at a time (leases); the others stand by and take over when it stops or dies.
 */
export async function startFulfilment(options: FulfilmentOptions): Promise<FulfilmentHandle> {
  const { context } = options;
  const runtime = new SagaRuntime({
    storage: await context.subscriptionStorage(),
    sagaStore: await context.sagaStore(),
    sagas: [
      createFulfilmentSaga({ paymentTimeoutMs: Math.max(1, Math.round(options.paymentTimeoutMs)) }),
    ],
    dispatcher: options.dispatcher,
    lease: { ttlMs: 10_000, retryIntervalMs: 500 },
    outbox: { pollIntervalMs: 250 },
    timers: { pollIntervalMs: 250 },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await runtime.start();
  return { sagas: runtime, runtime, stop: () => runtime.stop() };
}
