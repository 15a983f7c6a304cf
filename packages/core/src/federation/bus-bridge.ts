import { OutboxRelay, type OutboxRelayOptions, type OutboxTarget } from '../bus/outbox-relay.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { StoreTransaction } from '../store/event-store.js';
import { identityTranslation, type Translation } from './translation.js';
import { translatingTarget } from './translating-target.js';

/** Options of {@link busBridge}: an outbox relay's, with a translation. */
export interface BusBridgeOptions<Tx extends StoreTransaction = StoreTransaction> extends Omit<
  OutboxRelayOptions<Tx>,
  'bus' | 'name'
> {
  /** Names the bridge's checkpoint, lease and parked events in the source. */
  name: string;
  /** Where the translated events are published: a message bus or any outbox target. */
  bus: OutboxTarget;
  /** Source event → published events (default: unchanged, with bridged ids). */
  translation?: Translation;
  /** The source's identity in the published events' ids (default: `name`). */
  sourceId?: string;
}

/**
 * Shares a store's events with a message bus (NATS, RabbitMQ, MQTT, in-process) through a
 * translation: an `OutboxRelay` (checkpointed in the source, fenced by its lease, waiting out
 * broker outages, parking what can never be published) whose target translates each event
 * (see {@link translatingTarget}). Publishes one event at a time unless `maxInFlight` says
 * otherwise, so the bus receives the translated events in source order.
 *
 * @example
 * ```ts
 * const relay = busBridge({
 *   name: 'shop-to-bus',
 *   storage: await backend.subscriptionStorage(),
 *   bus,
 *   translation: renameTypes({ 'order.placed': 'sales.order-opened' }),
 * });
 * await relay.start();
 * ```
 */
export function busBridge<Tx extends StoreTransaction = StoreTransaction>(
  options: BusBridgeOptions<Tx>,
): OutboxRelay<Tx> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'must be an object { name, storage, bus, ... }');
  const { translation, sourceId, bus, ...relay } = options;
  const id = sourceId ?? options.name;
  if (typeof id !== 'string' || id.length === 0)
    throw new InvalidArgumentError('sourceId', 'must be a non-empty string');
  return new OutboxRelay<Tx>({
    maxInFlight: 1,
    ...relay,
    bus: translatingTarget({
      target: bus,
      translation: translation ?? identityTranslation,
      sourceId: id,
    }),
  });
}
