import { CloudEvent, type CloudEventV1 } from 'cloudevents';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON } from './cloud-events.js';
import type { EventJson } from './event-json.js';
import type { RouteContext } from './route-context.js';

/** The `source` of CloudEvents made from events that did not arrive as CloudEvents. */
export const DEFAULT_CLOUDEVENT_SOURCE = 'urn:causeway';

/** Options of {@link toCloudEvent}. */
export interface ToCloudEventOptions {
  /** `source` for events that did not arrive as CloudEvents. Default {@link DEFAULT_CLOUDEVENT_SOURCE}. */
  source?: string | undefined;
}

/** What ingest kept of a CloudEvent in `metadata.cloudEvent` (see `mapCloudEvent`). */
interface KeptCloudEvent {
  source?: unknown;
  time?: unknown;
  datacontenttype?: unknown;
  dataschema?: unknown;
  dataBase64?: unknown;
  extensions?: unknown;
}

/** Metadata keys sent as the CloudEvents extensions of the same (lower-case) name. */
const METADATA_EXTENSIONS = {
  correlationId: 'correlationid',
  causationId: 'causationid',
  traceparent: 'traceparent',
} as const;

/**
 * An event as a CloudEvent (the `cloudevents` SDK's), the inverse of `mapCloudEvent`:
 *
 * | event | CloudEvent |
 * | --- | --- |
 * | `id` | `id` |
 * | `type` | `type` |
 * | `stream` | `subject` |
 * | `metadata.cloudEvent.source` (it arrived as a CloudEvent), else `options.source` | `source` |
 * | `metadata.cloudEvent.time`, else `recordedAt` | `time` |
 * | `data` | `data` (`application/json`), or `data_base64` with the original `datacontenttype` for a binary CloudEvent's bytes |
 * | `metadata.correlationId`, `.causationId`, `.traceparent` | `correlationid`, `causationid`, `traceparent` extensions |
 * | `position`, `revision`, `schemaVersion` | `causewayposition`, `causewayrevision`, `causewayversion` extensions |
 * | extensions kept from an ingested CloudEvent | the same extensions |
 *
 * @example
 * ```ts
 * const ce = toCloudEvent(eventJson(recorded));
 * const { headers, body } = HTTP.binary(ce); // or HTTP.structured(ce)
 * ```
 */
export function toCloudEvent(
  event: EventJson,
  options: ToCloudEventOptions = {},
): CloudEvent<unknown> {
  const kept = (
    isRecord(event.metadata.cloudEvent) ? event.metadata.cloudEvent : {}
  ) as KeptCloudEvent;
  const attributes: Record<string, unknown> = {};
  if (isRecord(kept.extensions))
    for (const [name, value] of Object.entries(kept.extensions))
      if (/^[a-z0-9]{1,20}$/.test(name) && isExtensionValue(value)) attributes[name] = value;
  for (const [key, name] of Object.entries(METADATA_EXTENSIONS)) {
    const value = event.metadata[key];
    if (typeof value === 'string' && value.length > 0) attributes[name] = value;
  }
  const binary = kept.dataBase64 === true && typeof event.data === 'string';
  const ce: Partial<CloudEventV1<unknown>> & Record<string, unknown> = {
    ...attributes,
    specversion: '1.0',
    id: event.id,
    source:
      typeof kept.source === 'string' && kept.source.length > 0
        ? kept.source
        : (options.source ?? DEFAULT_CLOUDEVENT_SOURCE),
    type: event.type,
    subject: event.stream,
    time: typeof kept.time === 'string' ? kept.time : event.recordedAt,
    datacontenttype: binary
      ? typeof kept.datacontenttype === 'string'
        ? kept.datacontenttype
        : 'application/octet-stream'
      : 'application/json',
    ...(typeof kept.dataschema === 'string' ? { dataschema: kept.dataschema } : {}),
    ...(binary
      ? { data_base64: event.data as string }
      : event.data === null || event.data === undefined
        ? {}
        : { data: event.data }),
    causewayposition: event.position,
    causewayrevision: event.revision,
    causewayversion: event.schemaVersion,
  };
  return new CloudEvent<unknown>(ce);
}

/** Which CloudEvents representation a request asks for in its `Accept` header, if any. */
export function acceptedCloudEvents(request: FastifyRequest): 'structured' | 'batch' | undefined {
  const accept = request.headers.accept;
  if (accept === undefined) return undefined;
  const types = new Set<string>();
  for (const part of accept.toLowerCase().split(',')) {
    const [type = '', ...params] = part.split(';').map((p) => p.trim());
    // `q=0` means "not this one".
    if (params.some((p) => /^q=0(\.0{0,3})?$/.test(p))) continue;
    types.add(type);
  }
  if (types.has(CLOUDEVENTS_JSON)) return 'structured';
  if (types.has(CLOUDEVENTS_BATCH_JSON)) return 'batch';
  return undefined;
}

/** The read routes that answer CloudEvents on request: `single` answers one event. */
const CLOUDEVENT_READS: Readonly<Record<string, 'list' | 'single'>> = {
  'GET /streams/:stream': 'list',
  'GET /all': 'list',
  'GET /events/:position': 'single',
};

/**
 * Content negotiation of the read routes (`GET /streams/:stream`, `GET /all`,
 * `GET /events/:position`): asked with `Accept: application/cloudevents+json` or
 * `application/cloudevents-batch+json`, a list answers as a CloudEvents batch (its paging
 * fields move to `x-causeway-next`, `-head`, `-revision` headers) and one event as a
 * structured CloudEvent (or a batch of one, when only the batch type is accepted). Errors
 * stay problem details.
 */
export function registerCloudEventsOut(ctx: RouteContext): void {
  const prefix = ctx.app.prefix;
  // On those routes only: any other route's replies go out without a hook to pass.
  ctx.app.addHook('onRoute', (route) => {
    if (typeof route.method !== 'string' || !route.url.startsWith(prefix)) return;
    const kind = CLOUDEVENT_READS[`${route.method} ${route.url.slice(prefix.length)}`];
    if (kind === undefined) return;
    const given = route.preSerialization;
    const negotiate = negotiation(ctx, kind);
    route.preSerialization = given === undefined ? [negotiate] : [given].flat().concat(negotiate);
  });
}

/** The `preSerialization` hook of a read route answering a list, or one event. */
function negotiation(ctx: RouteContext, kind: 'list' | 'single') {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    void reply.header('vary', 'accept');
    const wanted = acceptedCloudEvents(request);
    if (wanted === undefined || reply.statusCode !== 200 || !isRecord(payload)) return payload;
    const options = { source: ctx.options.cloudEventSource };
    if (kind === 'single') {
      const event = toCloudEvent(payload.event as EventJson, options).toJSON();
      if (wanted === 'structured') {
        void reply.type(CLOUDEVENTS_JSON);
        return event;
      }
      void reply.type(CLOUDEVENTS_BATCH_JSON);
      return [event];
    }
    pagingHeaders(reply, payload);
    void reply.type(CLOUDEVENTS_BATCH_JSON);
    return (payload.events as EventJson[]).map((e) => toCloudEvent(e, options).toJSON());
  };
}

function pagingHeaders(reply: FastifyReply, payload: Record<string, unknown>): void {
  for (const name of ['next', 'head', 'revision'] as const) {
    const value = payload[name];
    if (typeof value === 'number' || typeof value === 'string')
      void reply.header(`x-causeway-${name}`, String(value));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isExtensionValue(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isSafeInteger(value))
  );
}
