import type { AppendRequest } from '@causewayjs/core';
import {
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  binaryCloudEvent,
  mapCloudEvent,
  type MappedCloudEvent,
} from '../cloud-events.js';
import { ERROR_SCHEMA, type RouteContext } from '../route-context.js';
import { InvalidCloudEventError } from '../server-errors.js';
import { streamParam } from '../stream-param.js';
import { ERROR_DESCRIPTIONS } from './stream-routes.js';

/** Most CloudEvents one batch may hold. */
export const MAX_CLOUDEVENT_BATCH = 1000;

const error = (status: number) => ({
  description: ERROR_DESCRIPTIONS[status] ?? 'Error',
  schema: ERROR_SCHEMA,
});

/**
 * `POST /cloudevents`: CloudEvents in structured mode (`application/cloudevents+json`), as a
 * batch (`application/cloudevents-batch+json`, appended atomically) or in binary mode (`ce-*`
 * headers, the body as data, any content type). See {@link mapCloudEvent} for the mapping.
 */
export function registerCloudEventsRoute(ctx: RouteContext): void {
  ctx.route({
    method: 'POST',
    url: '/cloudevents',
    operationId: 'ingestCloudEvents',
    summary: 'Append CloudEvents (structured, batch or binary mode)',
    description:
      'The stream is the `causewaystream` extension or else `subject`. A CloudEvent `id` that is a UUID becomes the event id; any other id is mapped to a name-based UUID of `source` and `id`, so redelivery is idempotent. For a caller bound to a tenant every id, UUID or not, is mapped to a name-based UUID of the tenant, `source` and `id`: two tenants never collide. A batch is appended atomically: all of it or nothing. Events whose type has a registered schema are validated as on `POST /streams/:stream` (422).',
    tags: ['cloudevents'],
    access: 'stream',
    consumes: [CLOUDEVENTS_JSON, CLOUDEVENTS_BATCH_JSON, '*/*'],
    body: {
      description: 'A CloudEvent (structured), an array of them (batch), or the data (binary mode)',
    },
    responses: {
      201: {
        description: 'Appended',
        schema: {
          type: 'object',
          properties: {
            events: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  cloudEventId: { type: 'string' },
                  stream: { type: 'string' },
                  revision: { type: 'integer' },
                  position: { type: 'integer' },
                },
              },
            },
          },
        },
      },
      400: error(400),
      401: error(401),
      403: error(403),
      409: error(409),
      410: error(410),
      413: error(413),
      422: error(422),
    },
    async handler(request, reply) {
      const contentType = (request.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      let inputs: unknown[];
      if (contentType === CLOUDEVENTS_BATCH_JSON) {
        if (!Array.isArray(request.body))
          throw new InvalidCloudEventError('A batch must be a JSON array of CloudEvents', 0);
        inputs = request.body;
        if (inputs.length === 0) throw new InvalidCloudEventError('The batch is empty', 0);
        if (inputs.length > MAX_CLOUDEVENT_BATCH)
          throw new InvalidCloudEventError(
            `A batch holds at most ${MAX_CLOUDEVENT_BATCH} CloudEvents`,
            0,
          );
      } else if (contentType === CLOUDEVENTS_JSON) {
        inputs = [request.body];
      } else {
        if (request.headers['ce-specversion'] === undefined)
          throw new InvalidCloudEventError(
            `Binary mode needs ce-* headers (ce-specversion, ce-id, ce-source, ce-type); structured mode needs content type ${CLOUDEVENTS_JSON}`,
            0,
            { missing: ['specversion'] },
          );
        inputs = [binaryCloudEvent(request.headers, request.body)];
      }
      const tenant = ctx.principal(request)?.tenant;
      const mapped = inputs.map((input, index) => mapCloudEvent(input, index, { tenant }));
      mapped.forEach((m, index) => {
        try {
          streamParam(m.stream);
        } catch (cause) {
          throw new InvalidCloudEventError(
            `The CloudEvent's stream is invalid: ${(cause as Error).message}`,
            index,
            { attribute: 'subject' },
          );
        }
      });
      for (const stream of new Set(mapped.map((m) => m.stream)))
        ctx.authorize(request, 'write', stream);

      // Consecutive events of one stream go in one request, keeping the batch's order.
      const groups: MappedCloudEvent[][] = [];
      for (const m of mapped) {
        const last = groups[groups.length - 1];
        if (last && last[0]!.stream === m.stream) last.push(m);
        else groups.push([m]);
      }
      const requests: AppendRequest[] = groups.map((group) => ({
        stream: group[0]!.stream,
        events: ctx.stamp(
          request,
          group[0]!.stream,
          group.map((m) => m.event),
        ),
      }));
      const results =
        requests.length === 1
          ? [await ctx.store.append(requests[0]!.stream, requests[0]!.events)]
          : await ctx.store.appendMany(requests);
      const events = groups.flatMap((group, g) => {
        const result = results[g]!;
        return group.map((m, i) => ({
          id: m.event.id,
          cloudEventId: m.cloudEventId,
          stream: m.stream,
          revision: result.revision - (group.length - 1 - i),
          position: result.position - (group.length - 1 - i),
        }));
      });
      request.log.info({ events: events.length, mode: contentType }, 'CloudEvents appended');
      return reply.code(201).send({ events });
    },
  });
}
