import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { ReadAllFilter } from '@causewayjs/core';
import { acceptedCloudEvents, toCloudEvent } from '../cloud-events-out.js';
import { problemDetails } from '../error-response.js';
import { eventJson } from '../event-json.js';
import { ERROR_SCHEMA, type RouteContext } from '../route-context.js';
import { InvalidRequestError } from '../server-errors.js';
import { LOG_FILTER_PROPERTIES, logFilter } from './log-routes.js';

/** Events read from the store per page while catching up. */
const SSE_PAGE = 500;

/** The SSE streams open now, ended when the server closes. */
export class SseSessions {
  private readonly open = new Set<() => void>();

  add(end: () => void): () => void {
    this.open.add(end);
    return () => this.open.delete(end);
  }

  /** How many streams are open. */
  get size(): number {
    return this.open.size;
  }

  /** Ends every open stream (server shutdown). */
  endAll(): void {
    for (const end of [...this.open]) end();
  }
}

/**
 * `GET /subscribe`: the global log as server-sent events, from a position or from the end,
 * then live. Each event is one SSE message whose `id` is its position and whose `data` is the
 * event as JSON; a client reconnecting with `Last-Event-ID` resumes right after it, with no
 * gap and no duplicate (the log's order never changes once observed). Events the caller may
 * not read are left out.
 */
export function registerSubscribeRoute(ctx: RouteContext, sessions: SseSessions): void {
  ctx.route({
    method: 'GET',
    url: '/subscribe',
    operationId: 'subscribe',
    summary: 'Follow the global log (server-sent events)',
    description:
      'Sends stored events from `from` (a position, `start`, or `end`: only new events, the default), then new ones as they commit. Each message: `id: <position>` and `data: <event JSON>`; with `format=cloudevents`, or `Accept: application/cloudevents+json` (beside or instead of `text/event-stream`), `data` is the event as a structured CloudEvent. A failure ends the stream with an `error` message whose data is problem details. Reconnecting with `Last-Event-ID: <position>` resumes after that position (it overrides `from`). A comment line is sent every 15 s to keep the connection open.',
    tags: ['log'],
    access: 'stream',
    headers: {
      type: 'object',
      properties: { 'last-event-id': { type: 'string', pattern: '^\\s*\\d{1,15}\\s*$' } },
    },
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        from: {
          anyOf: [
            { type: 'integer', minimum: 1 },
            { type: 'string', enum: ['start', 'end'] },
          ],
        },
        ...LOG_FILTER_PROPERTIES,
        format: {
          type: 'string',
          enum: ['json', 'cloudevents'],
          description:
            'The form of each event: `json` (default) or a structured CloudEvent, for clients (EventSource) that cannot set `Accept`',
        },
      },
    },
    responses: {
      200: {
        description: 'An event stream',
        contentType: 'text/event-stream',
        schema: { type: 'string' },
      },
      400: { description: 'Bad parameters', schema: ERROR_SCHEMA },
      401: { description: 'Credentials missing or not acceptable', schema: ERROR_SCHEMA },
    },
    async handler(request, reply) {
      const query = request.query as {
        from?: number | 'start' | 'end';
        types?: string[];
        prefix?: string;
        format?: 'json' | 'cloudevents';
      };
      const cloudEvents =
        query.format === 'cloudevents' ||
        (query.format === undefined && acceptedCloudEvents(request) !== undefined);
      const lastEventId = request.headers['last-event-id'];
      let next: number;
      if (typeof lastEventId === 'string') next = Number(lastEventId.trim()) + 1;
      else if (query.from === undefined || query.from === 'end')
        next = (await ctx.store.headPosition()) + 1;
      else if (query.from === 'start') next = 1;
      else next = query.from;
      if (!Number.isSafeInteger(next))
        throw new InvalidRequestError('Last-Event-ID is out of range');
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      raw.write('retry: 2000\n\n');
      const session = new SseSession(ctx, request, raw, {
        next,
        filter: logFilter(query),
        cloudEvents,
      });
      session.unregister = sessions.add(() => session.end());
      // The stream outlives this handler: it runs until the client or the server leaves.
      void session.run();
    },
  });
}

class SseSession {
  unregister: () => void = () => undefined;
  private closed = false;
  /** Set when a commit was signalled since the last read: the next wait returns at once. */
  private dirty = true;
  private wake: (() => void) | undefined;
  private readonly unwatch: () => void;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly poll: ReturnType<typeof setInterval> | undefined;
  private next: number;
  private readonly filter: ReadAllFilter;
  /** Send each event as a structured CloudEvent rather than the event JSON. */
  private readonly cloudEvents: boolean;

  constructor(
    private readonly ctx: RouteContext,
    private readonly request: FastifyRequest,
    private readonly raw: ServerResponse,
    from: { next: number; filter: ReadAllFilter; cloudEvents: boolean },
  ) {
    this.next = from.next;
    this.filter = from.filter;
    this.cloudEvents = from.cloudEvents;
    const { store, options } = ctx;
    const signal = () => {
      this.dirty = true;
      this.wake?.();
    };
    if (typeof store.watch === 'function') {
      this.unwatch = store.watch(signal);
      this.poll = undefined;
    } else {
      this.unwatch = () => undefined;
      this.poll = setInterval(signal, options.pollIntervalMs ?? 250);
    }
    this.heartbeat = setInterval(() => {
      if (!this.closed) raw.write(': keep-alive\n\n');
    }, options.sseHeartbeatMs ?? 15_000);
    this.heartbeat.unref();
    raw.on('close', () => this.end());
    raw.on('error', () => this.end());
  }

  async run(): Promise<void> {
    try {
      while (!this.closed) {
        this.dirty = false;
        let read = 0;
        for await (const event of this.ctx.store.readAll({
          from: this.next,
          filter: this.filter,
          limit: SSE_PAGE,
        })) {
          if (this.closed) return;
          read++;
          this.next = event.position + 1;
          if (!this.ctx.canRead(this.request, event)) continue;
          const json = eventJson(event);
          const data = this.cloudEvents
            ? toCloudEvent(json, { source: this.ctx.options.cloudEventSource }).toJSON()
            : json;
          const message = `id: ${event.position}\ndata: ${JSON.stringify(data)}\n\n`;
          if (!this.raw.write(message)) await this.drained();
        }
        if (read === SSE_PAGE) continue;
        await this.commitOrClose();
      }
    } catch (error) {
      if (this.closed) return;
      this.request.log.error({ err: error }, 'SSE stream failed');
      const code = (error as { code?: unknown }).code;
      const problem = problemDetails({
        status: 500,
        code: typeof code === 'string' ? code : 'INTERNAL',
        detail: 'The event stream failed; reconnect to resume',
        instance: this.request.url.split('?')[0],
      });
      this.raw.write(`event: error\ndata: ${JSON.stringify(problem)}\n\n`);
      this.end();
    }
  }

  /** Ends the stream and releases its watch and timers (idempotent). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    clearInterval(this.heartbeat);
    if (this.poll) clearInterval(this.poll);
    this.unregister();
    this.wake?.();
    if (!this.raw.writableEnded) this.raw.end();
  }

  private commitOrClose(): Promise<void> {
    if (this.dirty || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.raw.off('drain', done);
        this.raw.off('close', done);
        resolve();
      };
      this.raw.on('drain', done);
      this.raw.on('close', done);
    });
  }
}
