import { v5 as uuidv5 } from 'uuid';

/**
 * Namespace of the name-based (v5) UUIDs of bridged events: with the source's identity it
 * names the source's own namespace, in which each source event id and output index name one
 * target event id.
 */
export const BRIDGE_ID_NAMESPACE = '049a0b12-d4df-4a3d-bef2-9a990a0b247a';

/**
 * The id a bridge gives the `index`-th event its translation made of the source event
 * `eventId` of the source known as `sourceId`: a v5 UUID, the same on every run. A replay
 * after a crash therefore appends the very ids already stored, which the target store
 * recognises as an idempotent retry (DESIGN §3 Append) rather than new events.
 *
 * @example
 * ```ts
 * bridgedEventId('shop', event.id, 0); // always the same UUID for this event's first output
 * ```
 */
export function bridgedEventId(sourceId: string, eventId: string, index: number): string {
  return uuidv5(`${eventId}/${index}`, uuidv5(sourceId, BRIDGE_ID_NAMESPACE));
}
