import type { BusHandler } from '../bus/message-bus.js';
import { InvalidArgumentError } from '../core/errors.js';
import { nack } from '../subscriptions/event-handler.js';
import { bridgeAppends } from './bridge-appends.js';
import { TranslationFailedError } from './federation-errors.js';
import { refusedByTarget, type BridgeTarget } from './store-target.js';
import { identityTranslation, type Translation } from './translation.js';

/** Options of {@link busToStoreHandler}. */
export interface BusToStoreOptions {
  /** The store the bus's events are appended to. */
  target: BridgeTarget;
  /** Bus event → target events (default: unchanged). */
  translation?: Translation;
  /** Names the bus's source in the target events' ids (see `bridgedEventId`). */
  sourceId: string;
}

/**
 * A bus consumer that appends what it receives to a store, through a translation: the
 * bus-to-store half of a bridge, for `bus.subscribe({ group, handler })`. Exactly once in
 * the target without an inbox: each message's outputs get deterministic ids and go in one
 * append per stream with `expectedRevision: 'any'`, so a redelivery is an idempotent retry
 * of a stored append. A failing translation parks the message (`nack.park`); so does an
 * event the target refuses for good (its schemas, say); other failures are redelivered.
 *
 * @example
 * ```ts
 * await bus.subscribe({
 *   group: 'sales-ingest',
 *   subjects: ['order.>'],
 *   handler: busToStoreHandler({ target: sales.store, sourceId: 'shop-bus', translation }),
 * });
 * ```
 */
export function busToStoreHandler(options: BusToStoreOptions): BusHandler {
  if (typeof options?.target?.appendMany !== 'function')
    throw new InvalidArgumentError('target', 'must be an event store');
  if (typeof options.sourceId !== 'string' || options.sourceId.length === 0)
    throw new InvalidArgumentError('sourceId', 'must be a non-empty string');
  const translation = options.translation ?? identityTranslation;
  return async (event) => {
    let requests;
    try {
      requests = await bridgeAppends(event, { sourceId: options.sourceId, translation });
    } catch (error) {
      if (error instanceof TranslationFailedError)
        return nack.park(`${error.code}: ${error.message}`);
      throw error;
    }
    try {
      if (requests.length > 0) await options.target.appendMany(requests);
    } catch (error) {
      if (refusedByTarget(error))
        return nack.park(`the target refused the translated event: ${(error as Error).message}`);
      throw error;
    }
    return undefined;
  };
}
