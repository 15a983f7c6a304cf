import { v5 as uuidv5 } from 'uuid';
import { type EventInput, type EventMetadata, isUuid } from '@causewayjs/core';
import { InvalidCloudEventError } from './server-errors.js';

/** Media type of one CloudEvent in structured mode. */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
/** Media type of a batch of CloudEvents. */
export const CLOUDEVENTS_BATCH_JSON = 'application/cloudevents-batch+json';

/**
 * Namespace of the name-based (v5) UUIDs given to CloudEvents whose `id` is not a UUID, and
 * to every CloudEvent of a caller bound to a tenant: the same `source` and `id` (and tenant)
 * always map to the same event id, so a redelivered CloudEvent is an idempotent retry rather
 * than a second event.
 */
export const CLOUDEVENT_ID_NAMESPACE = '6f1d3c2a-8b4e-5f7a-9c1d-2e3f4a5b6c7d';

/** Extension naming the stream to append to (otherwise `subject` is the stream). */
export const STREAM_EXTENSION = 'causewaystream';

/** The context attributes that are not extensions. */
const CORE_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);

/** Extensions mapped onto Causeway's well-known metadata keys. */
const METADATA_EXTENSIONS: Readonly<Record<string, keyof EventMetadata>> = {
  correlationid: 'correlationId',
  causationid: 'causationId',
  traceparent: 'traceparent',
};

/** Options of {@link mapCloudEvent}. */
export interface MapCloudEventOptions {
  /**
   * The tenant of the caller, when it is bound to one: derived ids are then scoped to it, so
   * two tenants sending the same `source` and `id` get two events, and neither learns of the
   * other's by a conflict.
   */
  tenant?: string | undefined;
}

/**
 * The event id of a CloudEvent whose `id` is not a UUID: a v5 UUID of `source` and `id`,
 * and of the tenant when one is given. Without a tenant the id is what it always was (the
 * name is `source` NUL `id`), so untenanted senders keep their ids across versions; with one,
 * the name is `tenant` NUL `source` NUL `id`. A tenant id cannot hold NUL, so a scoped name
 * never equals an unscoped one.
 */
export function derivedCloudEventId(source: string, id: string, tenant?: string): string {
  const name =
    tenant === undefined ? `${source}\u0000${id}` : `${tenant}\u0000${source}\u0000${id}`;
  return uuidv5(name, CLOUDEVENT_ID_NAMESPACE);
}

/**
 * The event id of a CloudEvent: for a caller bound to a tenant always the tenant-scoped
 * `derivedCloudEventId` (event ids are unique store-wide, so a UUID that two tenants
 * both receive from one source must not collide either); otherwise a UUID `id` as is, and
 * any other `id` derived from `source` and `id`.
 */
function eventIdOf(
  source: string,
  id: string,
  { isUuid, tenant }: { isUuid: boolean; tenant: string | undefined },
): string {
  if (tenant !== undefined) return derivedCloudEventId(source, id, tenant);
  return isUuid ? id : derivedCloudEventId(source, id);
}

/** A CloudEvent turned into what to append where. */
export interface MappedCloudEvent {
  stream: string;
  event: EventInput & { id: string };
  /** The CloudEvent's own `id`. */
  cloudEventId: string;
}

/**
 * Maps one CloudEvent (its attributes as a JSON object, as in structured mode) to an event:
 *
 * | CloudEvent | event |
 * | --- | --- |
 * | `causewaystream` extension, else `subject` | stream |
 * | `id` (a UUID as is, otherwise `derivedCloudEventId`: a v5 UUID of `source` + `id`; for a caller bound to a tenant, always the v5 UUID of tenant + `source` + `id`) | `id` |
 * | `type` | `type` |
 * | `data` (or `data_base64`, kept as its base64 text) | `data` (`null` when absent) |
 * | `correlationid`, `causationid`, `traceparent` extensions | `metadata.correlationId`, `.causationId`, `.traceparent` |
 * | `id`, `source`, `specversion`, `time`, `subject`, `datacontenttype`, `dataschema`, other extensions | `metadata.cloudEvent` |
 *
 * @throws {InvalidCloudEventError} for a missing or invalid required attribute, or no stream.
 */
export function mapCloudEvent(
  input: unknown,
  index: number,
  options: MapCloudEventOptions = {},
): MappedCloudEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new InvalidCloudEventError('A CloudEvent must be a JSON object', index);
  const ce = input as Record<string, unknown>;
  const missing = ['specversion', 'id', 'source', 'type'].filter(
    (name) => typeof ce[name] !== 'string' || ce[name].length === 0,
  );
  if (missing.length > 0)
    throw new InvalidCloudEventError(
      `The CloudEvent lacks required attribute(s): ${missing.join(', ')}`,
      index,
      { missing },
    );
  const specversion = ce.specversion as string;
  const id = ce.id as string;
  const source = ce.source as string;
  const type = ce.type as string;
  if (specversion !== '1.0')
    throw new InvalidCloudEventError(`Unsupported specversion "${specversion}" (only 1.0)`, index, {
      attribute: 'specversion',
    });
  for (const name of ['subject', 'time', 'datacontenttype', 'dataschema', STREAM_EXTENSION]) {
    if (ce[name] !== undefined && typeof ce[name] !== 'string')
      throw new InvalidCloudEventError(`Attribute "${name}" must be a string`, index, {
        attribute: name,
      });
  }
  if (typeof ce.time === 'string' && Number.isNaN(Date.parse(ce.time)))
    throw new InvalidCloudEventError(`Attribute "time" is not an RFC 3339 timestamp`, index, {
      attribute: 'time',
    });
  if (ce.data !== undefined && ce.data_base64 !== undefined)
    throw new InvalidCloudEventError('A CloudEvent has data or data_base64, not both', index);
  if (ce.data_base64 !== undefined && typeof ce.data_base64 !== 'string')
    throw new InvalidCloudEventError('Attribute "data_base64" must be a string', index);
  const stream = (ce[STREAM_EXTENSION] as string | undefined) ?? (ce.subject as string | undefined);
  if (stream === undefined || stream.length === 0)
    throw new InvalidCloudEventError(
      `The CloudEvent names no stream: set "subject" or the "${STREAM_EXTENSION}" extension`,
      index,
      { missing: ['subject'] },
    );

  const metadata: EventMetadata = {};
  const extensions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(ce)) {
    if (CORE_ATTRIBUTES.has(name) || name === STREAM_EXTENSION) continue;
    if (!/^[a-z0-9]{1,20}$/.test(name))
      throw new InvalidCloudEventError(
        `Extension name "${name.slice(0, 40)}" is not 1-20 lower-case letters or digits`,
        index,
        { attribute: name.slice(0, 40) },
      );
    const key = METADATA_EXTENSIONS[name];
    if (key !== undefined) {
      if (typeof value !== 'string')
        throw new InvalidCloudEventError(`Extension "${name}" must be a string`, index, {
          attribute: name,
        });
      metadata[key] = value;
    } else {
      extensions[name] = value;
    }
  }
  metadata.cloudEvent = {
    id,
    source,
    specversion,
    ...pick(ce, ['time', 'subject', 'datacontenttype', 'dataschema']),
    ...(ce.data_base64 !== undefined ? { dataBase64: true } : {}),
    ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
  };
  // A plain boolean: the type guard would narrow `id` to never in the other branch.
  const idIsUuid: boolean = isUuid(id);
  return {
    stream,
    cloudEventId: id,
    event: {
      id: eventIdOf(source, idIsUuid ? id.toLowerCase() : id, {
        isUuid: idIsUuid,
        tenant: options.tenant,
      }),
      type,
      data: ce.data_base64 ?? ce.data ?? null,
      metadata,
    },
  };
}

/**
 * The attributes of a binary-mode CloudEvent: its `ce-*` headers (percent-decoded, as the
 * HTTP binding says), `content-type` as `datacontenttype`, and the body as `data` (parsed
 * JSON, text, or base64 for other bytes).
 */
export function binaryCloudEvent(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: unknown,
): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    attributes[name.slice(3)] = percentDecode(text);
  }
  const contentType = headers['content-type'];
  if (typeof contentType === 'string') attributes.datacontenttype = contentType;
  if (Buffer.isBuffer(body)) {
    if (body.length > 0) attributes.data_base64 = body.toString('base64');
  } else if (body !== undefined) {
    attributes.data = body;
  }
  return attributes;
}

function percentDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Not valid percent-encoding: the value is taken as sent.
    return value;
  }
}

function pick(source: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (source[name] !== undefined) picked[name] = source[name];
  return picked;
}
