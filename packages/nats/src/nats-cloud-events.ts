import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { CloudEvent, HTTP } from 'cloudevents';
import {
  type RecordedEvent,
  encodeJson,
  decodeBusMessage,
  encodeBusMessage,
} from '@causewayjs/core';

/**
 * How the NATS bus writes events:
 * - `'causeway'` (the default): the event envelope as JSON in the body;
 * - `'cloudevents-binary'`: a CloudEvent in binary content mode, its attributes as `ce-*`
 *   headers and `content-type`, the body the event's data as JSON. A consumer outside
 *   Causeway reads it with any CloudEvents SDK (the headers and body as an HTTP binary
 *   message); the `causeway*` extensions carry the rest of the envelope, so Causeway's own
 *   members read it back losslessly.
 *
 * Members read both, whatever the bus they run on publishes.
 */
export type NatsWireFormat = 'causeway' | 'cloudevents-binary';

/** `source` of the CloudEvents the bus publishes for events that did not arrive as one. */
export const NATS_CLOUDEVENT_SOURCE = 'urn:causeway';

/** One message to publish: its body and, in binary mode, its CloudEvents headers. */
export interface NatsWireMessage {
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

/**
 * The message for `event` in `format`. Headers already made (trace context) are kept; the
 * CloudEvents headers are added to them.
 *
 * @throws {NotJsonError} when data or metadata hold a value JSON would change.
 */
export function encodeNatsMessage(
  event: RecordedEvent,
  format: NatsWireFormat,
  carried?: MsgHdrs,
): NatsWireMessage {
  if (format === 'causeway') return { data: encodeBusMessage(event), headers: carried };
  const kept = event.metadata.cloudEvent as { source?: unknown } | undefined;
  const extensions: Record<string, string> = {};
  for (const [key, name] of [
    ['correlationId', 'correlationid'],
    ['causationId', 'causationid'],
  ] as const) {
    const value = event.metadata[key];
    if (typeof value === 'string' && value.length > 0) extensions[name] = value;
  }
  const ce = new CloudEvent<undefined>({
    ...extensions,
    specversion: '1.0',
    id: event.id,
    source:
      typeof kept?.source === 'string' && kept.source.length > 0
        ? kept.source
        : NATS_CLOUDEVENT_SOURCE,
    type: event.type,
    subject: event.stream,
    time: event.recordedAt.toISOString(),
    datacontenttype: 'application/json',
    causewayposition: event.position,
    causewayrevision: event.revision,
    causewayversion: event.schemaVersion,
    causewaymetadata: encodeJson(event.metadata, '$.metadata'),
  });
  const h = carried ?? natsHeaders();
  for (const [name, value] of Object.entries(HTTP.binary(ce).headers))
    if (value !== undefined) h.set(name, String(value));
  return { data: Buffer.from(encodeJson(event.data, '$.data')), headers: h };
}

/**
 * The event a message carries, in either wire format (a binary CloudEvent when it has a
 * `ce-specversion` header); `undefined` when it is neither a Causeway envelope nor a
 * CloudEvent the bus wrote.
 */
export function decodeNatsMessage(
  data: Uint8Array,
  h: MsgHdrs | undefined,
): RecordedEvent | undefined {
  if (!h?.has('ce-specversion')) return decodeBusMessage(data);
  const header = (name: string) => (h.has(name) ? h.get(name) : undefined);
  const id = header('ce-id');
  const type = header('ce-type');
  const stream = header('ce-subject');
  const position = integer(header('ce-causewayposition'));
  const revision = integer(header('ce-causewayrevision'));
  const schemaVersion = integer(header('ce-causewayversion'));
  const recordedAt = new Date(header('ce-time') ?? '');
  if (
    !id ||
    !type ||
    !stream ||
    position === undefined ||
    revision === undefined ||
    schemaVersion === undefined ||
    Number.isNaN(recordedAt.getTime())
  )
    return undefined;
  let metadata: unknown;
  let body: unknown;
  try {
    metadata = JSON.parse(header('ce-causewaymetadata') ?? '{}');
    body = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString());
  } catch {
    return undefined;
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    return undefined;
  return {
    id,
    type,
    stream,
    revision,
    position,
    data: body,
    metadata: metadata as RecordedEvent['metadata'],
    schemaVersion,
    recordedAt,
  };
}

function integer(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
