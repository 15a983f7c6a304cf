import { InvalidArgumentError } from '../core/errors.js';
import type { StoreTransaction } from '../store/event-store.js';
import type { EventHandler } from './event-handler.js';
import type { InboxStore } from './inbox-store.js';

/**
 * Makes a handler idempotent: each event id reaches `handler` once per `consumer`. The id is
 * recorded in the inbox inside the handler's transaction, so the record commits with the
 * handler's effects (and rolls back with them when the handler fails or nacks). Useful where
 * the same event can arrive twice: a checkpoint reset, a replay, messages from a bus, a
 * handler whose checkpoint lives elsewhere.
 *
 * @example
 * ```ts
 * const handler = withInbox(storage.inbox, 'email-sender', async (event, ctx) => { ... });
 * ```
 */
export function withInbox<Tx extends StoreTransaction>(
  inbox: InboxStore<Tx>,
  consumer: string,
  handler: EventHandler<Tx>,
): EventHandler<Tx> {
  if (typeof consumer !== 'string' || consumer.length === 0)
    throw new InvalidArgumentError('consumer', 'must be a non-empty string');
  if (typeof handler !== 'function')
    throw new InvalidArgumentError('handler', 'must be a function (event, context) => ...');
  return async (event, context) => {
    if (!(await inbox.record(consumer, event.id, context.tx))) return undefined;
    return handler(event, context);
  };
}
