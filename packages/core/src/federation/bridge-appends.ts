import type { EventMetadata, RecordedEvent } from '../core/envelope.js';
import type { AppendRequest } from '../store/event-store.js';
import { bridgedEventId } from './bridged-event-id.js';
import { runTranslation, type Translation } from './translation.js';

/** Where a bridged event came from, kept in its metadata under `origin`. */
export interface BridgeOrigin {
  /** The source's identity (the bridge's `sourceId`). */
  system: string;
  eventId: string;
  position: number;
}

/**
 * Where a bridged event first came from: its `metadata.origin`, when a bridge carried it
 * (a bridge keeps the first origin when it carries an event on again).
 */
export function originOf(event: { metadata: EventMetadata }): BridgeOrigin | undefined {
  const origin = event.metadata.origin as Partial<BridgeOrigin> | undefined;
  if (
    typeof origin !== 'object' ||
    origin === null ||
    typeof origin.system !== 'string' ||
    typeof origin.eventId !== 'string' ||
    typeof origin.position !== 'number'
  )
    return undefined;
  return { system: origin.system, eventId: origin.eventId, position: origin.position };
}

/** Options of {@link bridgeAppends}. */
export interface BridgeAppendsOptions {
  /** Names the source in the target events' ids (see `bridgedEventId`). */
  sourceId: string;
  translation: Translation;
  /**
   * Record where each event came from in `metadata.origin` (default true): the source event's
   * own origin when it has one (it was bridged into the source), else the source event.
   */
  origin?: boolean;
}

/**
 * What a bridge appends to its target for one source event: the translation's outputs with
 * deterministic ids, one append request per target stream (in the order the streams first
 * appear), each with `expectedRevision: 'any'`. Each request is therefore stored whole or
 * not at all, and a replay of it is the idempotent retry of a stored append wherever the
 * stream has got to since.
 *
 * @throws {TranslationFailedError} when the translation fails.
 */
export async function bridgeAppends(
  event: RecordedEvent,
  options: BridgeAppendsOptions,
): Promise<AppendRequest[]> {
  const outputs = await runTranslation(options.translation, event);
  const origin: BridgeOrigin = originOf(event) ?? {
    system: options.sourceId,
    eventId: event.id,
    position: event.position,
  };
  const byStream = new Map<string, AppendRequest & { events: AppendRequest['events'][number][] }>();
  outputs.forEach((output, index) => {
    let request = byStream.get(output.stream);
    if (!request) {
      request = { stream: output.stream, events: [], expectedRevision: 'any' };
      byStream.set(output.stream, request);
    }
    request.events.push({
      id: bridgedEventId(options.sourceId, event.id, index),
      type: output.type,
      data: output.data,
      metadata: options.origin === false ? output.metadata : { ...output.metadata, origin },
      schemaVersion: output.schemaVersion,
    });
  });
  return [...byStream.values()];
}
