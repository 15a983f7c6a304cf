import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { PublishReceipt } from '../bus/message-bus.js';
import type { OutboxTarget } from '../bus/outbox-relay.js';
import { bridgedEventId } from './bridged-event-id.js';
import { TranslationFailedError } from './federation-errors.js';
import { runTranslation, type Translation } from './translation.js';

/** Options of {@link translatingTarget}. */
export interface TranslatingTargetOptions {
  /** Where the translated events go: a message bus, or any other outbox target. */
  target: OutboxTarget;
  translation: Translation;
  /** Names the source in the published events' ids (see `bridgedEventId`). */
  sourceId: string;
}

/**
 * An outbox target that translates each event before publishing it, for an `OutboxRelay`
 * that carries a store's events to a bus through an anti-corruption layer. Each output is
 * published as an event with a deterministic id (`bridgedEventId`), so the bus deduplicates
 * a republish after a crash; its position, revision and time are the source event's, its
 * stream and type the translation's. An event the translation drops is acknowledged without
 * publishing anything; one whose translation fails is refused for good, which the relay
 * parks (list, retry and skip it with the relay's methods).
 *
 * The target's sequenced log (`tail`, NATS JetStream) is not passed on: a source event may
 * become several messages, which the relay's one-message-per-event chain cannot express.
 * Publishes stay ordered when the relay publishes one at a time (`maxInFlight: 1`, which
 * {@link busBridge} sets by default).
 */
export function translatingTarget(options: TranslatingTargetOptions): OutboxTarget {
  if (typeof options?.target?.publish !== 'function')
    throw new InvalidArgumentError('target', 'must be a MessageBus or OutboxTarget');
  if (typeof options.translation !== 'function')
    throw new InvalidArgumentError('translation', 'must be a function (event, context) => events');
  const { target, translation, sourceId } = options;
  return {
    async publish(event: RecordedEvent): Promise<PublishReceipt> {
      const outputs = await runTranslation(translation, event);
      let receipt: PublishReceipt = { subject: '', sequence: 0, duplicate: false };
      let duplicates = 0;
      for (const [index, output] of outputs.entries()) {
        receipt = await target.publish({
          ...event,
          id: bridgedEventId(sourceId, event.id, index),
          stream: output.stream,
          type: output.type,
          data: output.data,
          metadata: {
            ...output.metadata,
            origin: { system: sourceId, eventId: event.id, position: event.position },
          },
          schemaVersion: output.schemaVersion,
        });
        if (receipt.duplicate) duplicates += 1;
      }
      // Every message already held: a republish after a crash.
      return { ...receipt, duplicate: outputs.length > 0 && duplicates === outputs.length };
    },
    refusedForGood(error: unknown): boolean {
      return error instanceof TranslationFailedError || target.refusedForGood?.(error) === true;
    },
  };
}
