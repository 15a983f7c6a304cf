import { InvalidArgumentError } from '../core/errors.js';
import type { StoreTransaction } from '../store/event-store.js';
import {
  toHandlerResult,
  type EventHandler,
  type HandlerResult,
} from '../subscriptions/event-handler.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import { withInbox } from '../subscriptions/with-inbox.js';
import type { BusHandler } from './message-bus.js';

/** Thrown inside the transaction to roll it back when the handler did not acknowledge. */
class NotAcknowledged extends Error {
  constructor(readonly result: HandlerResult) {
    super('the handler did not acknowledge: rolling back');
  }
}

/**
 * Makes a bus consumer exactly-once in its own database: each message is handled in a
 * transaction of `storage.store` that also records its event id in the inbox under
 * `consumer` (the subscriptions' `withInbox`), and is acknowledged to the bus only after that
 * commits. A redelivered or republished message whose id is already recorded is acknowledged
 * without calling `handler` again. A failure or nack rolls back the effects and the record.
 *
 * @example
 * ```ts
 * await bus.subscribe({
 *   group: 'billing',
 *   subjects: ['order.>'],
 *   handler: inboxHandler(storage, 'billing', async (event, { tx }) => {
 *     await tx.append(`invoice-${event.stream}`, [{ type: 'invoice.opened', data: {} }]);
 *   }),
 * });
 * ```
 */
export function inboxHandler<Tx extends StoreTransaction>(
  storage: SubscriptionStorage<Tx>,
  consumer: string,
  handler: EventHandler<Tx>,
): BusHandler {
  if (typeof storage?.store?.transaction !== 'function' || !storage.inbox)
    throw new InvalidArgumentError('storage', 'must be subscription storage with an inbox');
  const handle = withInbox(storage.inbox, consumer, handler);
  return async (event, context) => {
    try {
      await storage.store.transaction(async (tx) => {
        const result = toHandlerResult(
          await handle(event, {
            tx,
            subscription: consumer,
            attempt: context.attempt,
            retryingParked: context.retryingParked,
            signal: context.signal,
          }),
        );
        if (result.action !== 'ack') throw new NotAcknowledged(result);
      });
    } catch (error) {
      if (error instanceof NotAcknowledged) return error.result;
      throw error;
    }
    return undefined;
  };
}
