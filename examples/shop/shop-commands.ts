import {
  newId,
  type EventStore,
  type CommandReply,
  type InProcessCommandDispatcher,
} from '@causewayjs/core';
import { createShopDispatcher } from './fulfilment-saga.js';
import type { DeclinePolicy } from './payment-decider.js';

/** Options of {@link createShopCommands}. */
export interface ShopCommandsOptions {
  store: EventStore;
  /** Which authorisations the simulated payment provider declines. */
  decline?: DeclinePolicy;
}

/** The shop's command side: the dispatcher, and a shortcut to send one command. */
export interface ShopCommands {
  /** Routes command envelopes by type (what the fulfilment saga dispatches to). */
  readonly dispatcher: InProcessCommandDispatcher;
  /** Sends a command with a new id (what the traffic generator and scripts use). */
  readonly send: (
    type: string,
    data: unknown,
    metadata?: Record<string, unknown>,
  ) => Promise<CommandReply>;
}

/**
 * The shop's command side: every decider (catalog, orders, inventory, payments, shipping)
 * behind the shop's in-process dispatcher (`createShopDispatcher`: commands name their
 * aggregate in their data, `orderId` or `sku`, and are applied once per command id), with
 * payments declined by `decline`.
 */
export function createShopCommands(options: ShopCommandsOptions): ShopCommands {
  const dispatcher = createShopDispatcher(options.store, {
    ...(options.decline ? { declinePolicy: options.decline } : {}),
  });
  return {
    dispatcher,
    send: (type, data, metadata = {}) => dispatcher.dispatch({ id: newId(), type, data, metadata }),
  };
}
