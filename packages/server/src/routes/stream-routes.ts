import type { FastifyRequest } from 'fastify';
import {
  type EventInput,
  type RecordedEvent,
  InvalidArgumentError,
  StreamDeletedError,
  StreamNotFoundError,
  type ExpectedRevision,
  type ReadStreamOptions,
  type StreamMetadata,
  type StreamSummary,
} from '@causewayjs/core';
import { EVENT_JSON_SCHEMA, eventJson } from '../event-json.js';
import { ADMIN_RESOURCE, ERROR_SCHEMA, type RouteContext } from '../route-context.js';
import { InvalidRequestError, NotConfiguredError, NotFoundError } from '../server-errors.js';
import { streamParam } from '../stream-param.js';

const STREAM_PARAMS = {
  type: 'object',
  required: ['stream'],
  properties: { stream: { type: 'string', description: 'Stream name (URL-encoded)' } },
} as const;

const EXPECTED_REVISION_SCHEMA = {
  description:
    "'any', 'no_stream', 'stream_exists' or the exact revision of the stream's last event",
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', enum: ['any', 'no_stream', 'stream_exists'] },
  ],
} as const;

const EVENT_INPUT_SCHEMA = {
  type: 'object',
  required: ['type', 'data'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', description: 'UUID; generated when omitted. Makes retries idempotent.' },
    type: { type: 'string', minLength: 1 },
    data: {},
    metadata: { type: 'object', additionalProperties: true },
    schemaVersion: { type: 'integer', minimum: 1 },
  },
} as const;

const APPEND_RESULT_SCHEMA = {
  type: 'object',
  required: ['stream', 'revision', 'position'],
  properties: {
    stream: { type: 'string' },
    revision: { type: 'integer' },
    position: { type: 'integer' },
  },
} as const;

const STREAM_INFO_SCHEMA = {
  type: 'object',
  properties: {
    stream: { type: 'string' },
    exists: { type: 'boolean' },
    revision: { type: ['integer', 'null'] },
    deleted: { enum: [false, 'soft', 'hard'] },
    metadata: { type: 'object', additionalProperties: true },
  },
} as const;

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERROR_DESCRIPTIONS[status] ?? 'Error', schema: ERROR_SCHEMA },
    ]),
  );

/** Descriptions of the error statuses, for the OpenAPI document. */
export const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad input (malformed JSON, invalid stream name, invalid parameters)',
  401: 'Credentials missing or not acceptable',
  403: 'The caller may not do this',
  404: 'Not found',
  409: 'Wrong expected revision (or an event id reused elsewhere)',
  410: 'The stream is tombstoned',
  413: 'Body or event too large',
  415: 'Unsupported content type',
  422: 'Events do not match their schemas',
  503: 'Not ready, or the store is unavailable',
};

/** Default and largest page of events a read returns. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** The stream routes: append, read, delete, metadata, list, and state at a revision. */
export function registerStreamRoutes(ctx: RouteContext): void {
  const { store } = ctx;

  ctx.route({
    method: 'POST',
    url: '/streams/:stream',
    operationId: 'appendToStream',
    summary: 'Append events to a stream',
    description:
      'Appends atomically. The expected revision comes from the body or the If-Match header (`"3"`, `no_stream`...); both must agree when both are given. Events whose type has a registered schema are validated first (422).',
    tags: ['streams'],
    access: 'stream',
    params: STREAM_PARAMS,
    headers: {
      type: 'object',
      properties: { 'if-match': { type: 'string', description: 'Expected revision' } },
    },
    body: {
      anyOf: [
        {
          type: 'object',
          required: ['events'],
          additionalProperties: false,
          properties: {
            events: { type: 'array', minItems: 1, items: EVENT_INPUT_SCHEMA },
            expectedRevision: EXPECTED_REVISION_SCHEMA,
          },
        },
        { type: 'array', minItems: 1, items: EVENT_INPUT_SCHEMA },
      ],
    },
    responses: {
      201: {
        description: 'Appended (or an idempotent retry of an earlier append)',
        schema: APPEND_RESULT_SCHEMA,
      },
      ...errors(400, 401, 403, 409, 410, 413, 415, 422, 503),
    },
    // The append result is exactly { stream, revision, position }: serialised by its schema.
    exactResponses: true,
    async handler(request, reply) {
      const stream = streamParam((request.params as { stream: string }).stream);
      ctx.authorize(request, 'write', stream);
      const body = request.body as
        { events: EventInput[]; expectedRevision?: ExpectedRevision } | EventInput[];
      const events = Array.isArray(body) ? body : body.events;
      const expectedRevision = resolveExpected(
        Array.isArray(body) ? undefined : body.expectedRevision,
        request.headers['if-match'],
      );
      const result = await store.append(stream, ctx.stamp(request, stream, events), {
        expectedRevision,
      });
      request.log.info(
        {
          stream,
          events: events.length,
          position: result.position,
          correlationId: events[0]?.metadata?.correlationId,
        },
        'appended',
      );
      void reply.code(201).header('etag', `"${result.revision}"`);
      return result;
    },
  });

  ctx.route({
    method: 'GET',
    url: '/streams/:stream',
    operationId: 'readStream',
    summary: 'Read a stream',
    description:
      'Reads one page of events in revision order. `next` is the `from` of the next page, or null at the end. Events the caller may not see (for a caller bound to a tenant, events whose `metadata.tenant` names another tenant) are left out of the page.',
    tags: ['streams'],
    access: 'stream',
    params: STREAM_PARAMS,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        from: {
          anyOf: [
            { type: 'integer', minimum: 0 },
            { type: 'string', enum: ['start', 'end'] },
          ],
        },
        direction: { type: 'string', enum: ['forward', 'backward'], default: 'forward' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
      },
    },
    responses: {
      200: {
        description: 'A page of the stream',
        schema: {
          type: 'object',
          properties: {
            stream: { type: 'string' },
            revision: { type: ['integer', 'null'], description: "The stream's last revision" },
            events: { type: 'array', items: EVENT_JSON_SCHEMA },
            next: { type: ['integer', 'null'] },
          },
        },
      },
      ...errors(400, 401, 403, 404, 410),
    },
    async handler(request, reply) {
      const stream = streamParam((request.params as { stream: string }).stream);
      ctx.authorize(request, 'read', stream);
      const query = request.query as {
        from?: number | 'start' | 'end';
        direction: 'forward' | 'backward';
        limit: number;
      };
      const info = await store.streamInfo(stream);
      if (info.deleted === 'hard') throw new StreamDeletedError(stream);
      if (!info.exists) throw new StreamNotFoundError(stream);
      const options: ReadStreamOptions = { direction: query.direction, limit: query.limit };
      if (query.from !== undefined) options.from = query.from;
      // Paged on what was read; events the caller may not see (another tenant's, stamped
      // into this stream's namespace) are left out of the page.
      const read: RecordedEvent[] = [];
      for await (const event of store.readStream(stream, options)) read.push(event);
      const events = read.filter((event) => ctx.canRead(request, event));
      const last = read[read.length - 1];
      let next: number | null = null;
      if (last && read.length === query.limit) {
        next = query.direction === 'forward' ? last.revision + 1 : last.revision - 1;
        if (next < 0) next = null;
      }
      if (info.revision !== null) void reply.header('etag', `"${info.revision}"`);
      return { stream, revision: info.revision, events: events.map(eventJson), next };
    },
  });

  ctx.route({
    method: 'DELETE',
    url: '/streams/:stream',
    operationId: 'deleteStream',
    summary: 'Delete a stream (soft, or a tombstone with hard=true)',
    description:
      'Soft delete hides the events from stream reads (a later append revives the stream); `hard=true` tombstones it: every later read or write answers 410. The global log keeps the events either way.',
    tags: ['streams'],
    access: 'stream',
    params: STREAM_PARAMS,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        hard: { type: 'boolean', default: false },
        expectedRevision: {
          anyOf: [
            { type: 'integer', minimum: 0 },
            { type: 'string', enum: ['any', 'no_stream', 'stream_exists'] },
          ],
        },
      },
    },
    responses: {
      204: { description: 'Deleted' },
      ...errors(400, 401, 403, 409, 410),
    },
    async handler(request, reply) {
      const stream = streamParam((request.params as { stream: string }).stream);
      ctx.authorize(request, 'delete', stream);
      const query = request.query as { hard: boolean; expectedRevision?: ExpectedRevision };
      const expectedRevision = resolveExpected(query.expectedRevision, request.headers['if-match']);
      await store.deleteStream(stream, { hard: query.hard, expectedRevision });
      request.log.info({ stream, hard: query.hard }, 'stream deleted');
      return reply.code(204).send();
    },
  });

  ctx.route({
    method: 'GET',
    url: '/streams/:stream/metadata',
    operationId: 'getStreamMetadata',
    summary: "A stream's metadata and state",
    tags: ['streams'],
    access: 'stream',
    params: STREAM_PARAMS,
    responses: {
      200: { description: 'Stream info', schema: STREAM_INFO_SCHEMA },
      ...errors(400, 401, 403),
    },
    async handler(request) {
      const stream = streamParam((request.params as { stream: string }).stream);
      ctx.authorize(request, 'read', stream);
      return store.streamInfo(stream);
    },
  });

  ctx.route({
    method: 'PUT',
    url: '/streams/:stream/metadata',
    operationId: 'setStreamMetadata',
    summary: "Replace a stream's metadata",
    description:
      '`maxCount`, `maxAge` (seconds) and `truncateBefore` shape stream reads; other keys are free.',
    tags: ['streams'],
    access: 'stream',
    params: STREAM_PARAMS,
    body: {
      type: 'object',
      additionalProperties: true,
      properties: {
        maxCount: { type: 'integer', minimum: 0 },
        maxAge: { type: 'integer', minimum: 0 },
        truncateBefore: { type: 'integer', minimum: 0 },
      },
    },
    responses: {
      200: { description: 'Stream info after the change', schema: STREAM_INFO_SCHEMA },
      ...errors(400, 401, 403, 410, 415),
    },
    async handler(request) {
      const stream = streamParam((request.params as { stream: string }).stream);
      ctx.authorize(request, 'write', stream);
      await store.setStreamMetadata(stream, request.body as StreamMetadata);
      return store.streamInfo(stream);
    },
  });

  ctx.route({
    method: 'GET',
    url: '/streams',
    operationId: 'listStreams',
    summary: 'List streams by name',
    description:
      'Streams in name order, filtered by prefix, paged with `after` (the last name of the previous page). Streams the caller may not read are left out. `total` is how many streams match the prefix in the whole store (an exact count, not the page size), given to callers with `admin` access only (a count of all streams would tell others of streams they may not read), `null` otherwise.',
    tags: ['streams'],
    access: 'stream',
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        prefix: { type: 'string' },
        after: { type: 'string' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
        includeDeleted: { type: 'boolean', default: false },
      },
    },
    responses: {
      200: {
        description: 'A page of streams',
        schema: {
          type: 'object',
          properties: {
            streams: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  stream: { type: 'string' },
                  revision: { type: 'integer' },
                  lastPosition: { type: 'integer' },
                  deleted: { enum: [false, 'soft', 'hard'] },
                },
              },
            },
            next: { type: ['string', 'null'] },
            total: { type: ['integer', 'null'] },
          },
        },
      },
      ...errors(400, 401),
    },
    async handler(request) {
      const query = request.query as {
        prefix?: string;
        after?: string;
        limit: number;
        includeDeleted: boolean;
      };
      if (typeof store.listStreams !== 'function')
        throw new NotConfiguredError('a store that can list streams');
      const streams: StreamSummary[] = [];
      let scanned: string | undefined;
      let more = false;
      // Scanning stops at the page size of streams the caller may read, so a page is full
      // even when some streams are hidden from the caller.
      for await (const summary of store.listStreams({
        ...(query.prefix !== undefined ? { prefix: query.prefix } : {}),
        ...(query.after !== undefined ? { after: query.after } : {}),
        includeDeleted: query.includeDeleted,
      })) {
        if (streams.length === query.limit) {
          more = true;
          break;
        }
        scanned = summary.stream;
        if (ctx.can(request, 'read', summary.stream)) streams.push(summary);
      }
      const total =
        ctx.can(request, 'admin', ADMIN_RESOURCE) && store.countStreams
          ? await store.countStreams({
              ...(query.prefix !== undefined ? { prefix: query.prefix } : {}),
              includeDeleted: query.includeDeleted,
            })
          : null;
      return { streams, next: more ? (scanned ?? null) : null, total };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/streams/:stream/state',
    operationId: 'streamStateAt',
    summary: "An aggregate's state at a revision (time travel)",
    description:
      "Folds the stream's events up to `revision` (inclusive; default: all) with the aggregate of its category (the name before the first `-`). `range` gives the first and last revisions, for a slider.",
    tags: ['streams'],
    access: 'stream',
    params: STREAM_PARAMS,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { revision: { type: 'integer', minimum: 0 } },
    },
    responses: {
      200: {
        description: 'The folded state',
        schema: {
          type: 'object',
          properties: {
            stream: { type: 'string' },
            category: { type: 'string' },
            state: {},
            revision: { type: ['integer', 'null'] },
            position: { type: ['integer', 'null'] },
            recordedAt: { type: ['string', 'null'] },
            events: { type: 'integer' },
            range: {
              type: 'object',
              properties: {
                first: { type: ['integer', 'null'] },
                last: { type: ['integer', 'null'] },
              },
            },
          },
        },
      },
      ...errors(400, 401, 403, 404, 410),
    },
    async handler(request) {
      const stream = streamParam((request.params as { stream: string }).stream);
      ctx.authorize(request, 'read', stream);
      const { revision } = request.query as { revision?: number };
      const category = stream.includes('-') ? stream.slice(0, stream.indexOf('-')) : stream;
      const aggregate = ctx.options.aggregates?.[category];
      if (!ctx.options.aggregates) throw new NotConfiguredError('aggregates for time travel');
      if (!aggregate)
        throw new NotFoundError(`No aggregate is configured for category "${category}"`, {
          category,
          known: Object.keys(ctx.options.aggregates),
        });
      const info = await store.streamInfo(stream);
      if (info.deleted === 'hard') throw new StreamDeletedError(stream);
      if (!info.exists) throw new StreamNotFoundError(stream);
      // The aggregate's own types are opaque here: the server folds with them as given.
      const evolve = (state: unknown, event: RecordedEvent): unknown =>
        (aggregate.evolve as (state: unknown, event: RecordedEvent) => unknown).call(
          aggregate,
          state,
          event,
        );
      const initial = aggregate.initialState;
      let state: unknown = typeof initial === 'function' ? (initial as () => unknown)() : initial;
      let last: RecordedEvent | undefined;
      let first: number | null = null;
      let folded = 0;
      for await (const event of store.readStream(stream)) {
        if (!ctx.canRead(request, event)) continue;
        first ??= event.revision;
        if (revision !== undefined && event.revision > revision) break;
        state = evolve(state, event);
        last = event;
        folded++;
      }
      return {
        stream,
        category,
        state,
        revision: last?.revision ?? null,
        position: last?.position ?? null,
        recordedAt: last?.recordedAt.toISOString() ?? null,
        events: folded,
        range: { first, last: info.revision },
      };
    },
  });
}

/** The expected revision from the body (or query) and the `If-Match` header; both must agree. */
function resolveExpected(
  given: ExpectedRevision | undefined,
  ifMatch: string | undefined,
): ExpectedRevision {
  const fromHeader = ifMatch === undefined ? undefined : parseIfMatch(ifMatch);
  if (given !== undefined && fromHeader !== undefined && given !== fromHeader)
    throw new InvalidRequestError('expectedRevision and If-Match disagree', {
      expectedRevision: given,
      ifMatch,
    });
  return given ?? fromHeader ?? 'any';
}

function parseIfMatch(value: string): ExpectedRevision {
  const trimmed = value
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  if (trimmed === '*') return 'stream_exists';
  if (trimmed === 'any' || trimmed === 'no_stream' || trimmed === 'stream_exists') return trimmed;
  if (/^\d{1,15}$/.test(trimmed)) return Number(trimmed);
  throw new InvalidArgumentError(
    'If-Match',
    `${JSON.stringify(value)} is not a revision, "*", "any", "no_stream" or "stream_exists"`,
  );
}

/** The `request.params.stream` of a route, checked (for routes outside this module). */
export function streamOf(request: FastifyRequest): string {
  return streamParam((request.params as { stream?: unknown }).stream);
}
