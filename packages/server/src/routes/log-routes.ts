import type { RecordedEvent, ReadAllFilter } from '@causewayjs/core';
import { EVENT_JSON_SCHEMA, eventJson } from '../event-json.js';
import { type RouteContext, ERROR_SCHEMA } from '../route-context.js';
import { NotFoundError } from '../server-errors.js';
import { DEFAULT_PAGE, ERROR_DESCRIPTIONS, MAX_PAGE } from './stream-routes.js';

/** Query parameters of the filtered global log (`/all`, `/subscribe`). */
export const LOG_FILTER_PROPERTIES = {
  types: {
    type: 'array',
    items: { type: 'string' },
    description: 'Only these event types (repeat the parameter, or separate with commas)',
  },
  prefix: { type: 'string', description: 'Only streams whose name starts with this' },
} as const;

/** The store filter of a `types` / `prefix` query. */
export function logFilter(query: { types?: string[]; prefix?: string }): ReadAllFilter {
  const filter: ReadAllFilter = {};
  const types = (query.types ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (types.length > 0) filter.types = types;
  if (query.prefix !== undefined && query.prefix !== '') filter.streamPrefix = query.prefix;
  return filter;
}

const error = (status: number) => ({
  description: ERROR_DESCRIPTIONS[status] ?? 'Error',
  schema: ERROR_SCHEMA,
});

/**
 * How many events matching its filters one `GET /all` request may examine, per event of its
 * `limit`: it reads past events the caller may not see until its page is full, the log ends or
 * `limit * ALL_SCAN_FACTOR` events were examined, so a request costs a bounded amount of work
 * however much of the log is hidden from the caller.
 */
export const ALL_SCAN_FACTOR = 10;

/** The global log routes: `/all` and `/events/:position` (an event with its causation chain). */
export function registerLogRoutes(ctx: RouteContext): void {
  const { store } = ctx;

  ctx.route({
    method: 'GET',
    url: '/all',
    operationId: 'readAll',
    summary: 'Read the global log',
    description: `One page of the log in position order (or backward), filtered by types and stream prefix. Events the caller may not read are left out, and reading goes on past them until the page holds \`limit\` events, the log ends (at \`head\`, read when the request starts), or ${ALL_SCAN_FACTOR} × \`limit\` events matching the filters have been examined. \`next\` is the \`from\` of the next page, or null when the page ended the log; a page shorter than \`limit\` with a \`next\` only means the scan bound was reached: page on from \`next\`.`,
    tags: ['log'],
    access: 'stream',
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        from: { type: 'integer', minimum: 0, description: 'First position (inclusive)' },
        direction: { type: 'string', enum: ['forward', 'backward'], default: 'forward' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
        ...LOG_FILTER_PROPERTIES,
      },
    },
    responses: {
      200: {
        description: 'A page of the log',
        schema: {
          type: 'object',
          properties: {
            events: { type: 'array', items: EVENT_JSON_SCHEMA },
            next: { type: ['integer', 'null'] },
            head: { type: 'integer' },
          },
        },
      },
      400: error(400),
      401: error(401),
    },
    async handler(request) {
      const query = request.query as {
        from?: number;
        direction: 'forward' | 'backward';
        limit: number;
        types?: string[];
        prefix?: string;
      };
      const forward = query.direction === 'forward';
      // The head is read first and bounds the page: events committed during the request are
      // left for the next one, so a null `next` means "examined everything up to head".
      const head = await store.headPosition();
      const budget = query.limit * ALL_SCAN_FACTOR;
      const events: RecordedEvent[] = [];
      let scanned = 0;
      let last: RecordedEvent | undefined;
      // Whether the log goes on for this caller: a readable event was seen past a full page,
      // or the scan bound stopped the reading first.
      let more = false;
      for await (const event of store.readAll({
        from: query.from ?? (forward ? 'start' : head > 0 ? head : 'end'),
        direction: query.direction,
        filter: logFilter(query),
        limit: budget,
      })) {
        if (forward && event.position > head) break;
        scanned++;
        last = event;
        if (!ctx.canRead(request, event)) continue;
        // The page is full; looking one readable event further (past hidden ones) decides
        // `next`, so hidden events after a page's last one never show as an extra empty page.
        if (events.length === query.limit) {
          more = true;
          break;
        }
        events.push(event);
      }
      if (scanned === budget) more = true;
      let next: number | null = null;
      // A full page goes on just past its last event (hidden events after it are read again
      // by the next request); a page the bound cut short goes on past the last event examined.
      const from = events.length === query.limit ? events[events.length - 1] : last;
      if (more && from) {
        next = forward ? from.position + 1 : from.position - 1;
        if (next < 1 || (forward && from.position >= head)) next = null;
      }
      return { events: events.map(eventJson), next, head };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/events/:position',
    operationId: 'getEvent',
    summary: 'One event with its causation chain',
    description:
      "The event at a position, the chain of events that caused it (following `metadata.causationId` to an event's `id`, nearest first, and through a command to the command's own cause, `metadata.commandCausationId`) and the events it caused, directly or not (each with `causationId` or `commandCausationId` pointing into the set). The search scans at most `window` events before and after the event; a chain reaching beyond it ends there. Events the caller may not read are left out, and an event the caller may not read is answered with the same 404 as a position holding no event.",
    tags: ['log'],
    access: 'stream',
    params: {
      type: 'object',
      required: ['position'],
      properties: { position: { type: 'integer', minimum: 1 } },
    },
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { window: { type: 'integer', minimum: 0, maximum: 10_000 } },
    },
    responses: {
      200: {
        description: 'The event and its causation chain',
        schema: {
          type: 'object',
          properties: {
            event: EVENT_JSON_SCHEMA,
            causedBy: { type: 'array', items: EVENT_JSON_SCHEMA },
            caused: { type: 'array', items: EVENT_JSON_SCHEMA },
            scanned: {
              type: 'object',
              properties: { from: { type: 'integer' }, to: { type: 'integer' } },
            },
          },
        },
      },
      400: error(400),
      401: error(401),
      404: error(404),
    },
    async handler(request) {
      const { position } = request.params as { position: number };
      const window =
        (request.query as { window?: number }).window ?? ctx.options.causationWindow ?? 1000;
      let event: RecordedEvent | undefined;
      for await (const found of store.readAll({ from: position, limit: 1 })) event = found;
      // An event the caller may not see is answered exactly as a missing one (same status,
      // same body), so walking positions tells nothing of other streams or tenants.
      if (!event || event.position !== position || !ctx.canRead(request, event))
        throw new NotFoundError(`No event at position ${position}`, { position });

      // Up the chain: the events before, by id, then follow causationId while it finds one.
      const before = new Map<string, RecordedEvent>();
      let from = position;
      if (window > 0 && position > 1) {
        for await (const e of store.readAll({
          from: position - 1,
          direction: 'backward',
          limit: window,
        })) {
          before.set(e.id, e);
          from = e.position;
        }
      }
      const causedBy: RecordedEvent[] = [];
      const seen = new Set<string>([event.id]);
      // A cause that is a command (a saga's, a reactor's) is not in the log: its own cause,
      // kept on its events as `commandCausationId`, continues the chain.
      const causeOf = (e: RecordedEvent) =>
        before.get(e.metadata.causationId ?? '') ??
        before.get(stringOr(e.metadata.commandCausationId));
      for (let cause = causeOf(event); cause;) {
        if (seen.has(cause.id)) break;
        seen.add(cause.id);
        causedBy.push(cause);
        cause = causeOf(cause);
      }

      // Down: every later event whose cause is the event or one of its effects.
      const effects = new Set<string>([event.id]);
      const caused: RecordedEvent[] = [];
      let to = position;
      if (window > 0) {
        for await (const e of store.readAll({ from: position + 1, limit: window })) {
          to = e.position;
          const causationId = e.metadata.causationId;
          const commandCause = stringOr(e.metadata.commandCausationId);
          if (
            (causationId !== undefined && effects.has(causationId)) ||
            effects.has(commandCause)
          ) {
            effects.add(e.id);
            caused.push(e);
          }
        }
      }
      const readable = (e: RecordedEvent) => ctx.canRead(request, e);
      return {
        event: eventJson(event),
        causedBy: causedBy.filter(readable).map(eventJson),
        caused: caused.filter(readable).map(eventJson),
        scanned: { from, to },
      };
    },
  });
}

/** A metadata value as a map key: the string, or `''` (never an event id) otherwise. */
function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
