import type { HeadSampler } from '../head-sampler.js';
import { openApiDocument } from '../openapi.js';
import { ERROR_SCHEMA, type RouteContext } from '../route-context.js';
import { NotReadyError } from '../server-errors.js';
import { ERROR_DESCRIPTIONS } from './stream-routes.js';

const error = (status: number) => ({
  description: ERROR_DESCRIPTIONS[status] ?? 'Error',
  schema: ERROR_SCHEMA,
});

/** What the system routes need from the server around them. */
export interface SystemState {
  readonly startedAt: number;
  readonly closing: boolean;
  readonly version: string;
  readonly sampler: HeadSampler;
  /** Appends through this server since it started (events, calls). */
  appendCounts(): Promise<{ calls: number; events: number }>;
  /** Server-sent event streams open now. */
  sseOpen(): number;
}

/** `/health`, `/ready`, `/metrics`, `/stats` and `/openapi.json`. */
export function registerSystemRoutes(ctx: RouteContext, state: SystemState): void {
  ctx.route({
    method: 'GET',
    url: '/health',
    operationId: 'health',
    summary: 'Liveness: the process answers',
    tags: ['system'],
    access: 'public',
    responses: {
      200: {
        description: 'Alive',
        schema: {
          type: 'object',
          properties: { status: { const: 'ok' }, uptimeSeconds: { type: 'number' } },
        },
      },
    },
    handler() {
      return Promise.resolve({
        status: 'ok',
        uptimeSeconds: (Date.now() - state.startedAt) / 1000,
      });
    },
  });

  ctx.route({
    method: 'GET',
    url: '/ready',
    operationId: 'ready',
    summary: 'Readiness: the store answers and the server is not closing',
    tags: ['system'],
    access: 'public',
    responses: {
      200: {
        description: 'Ready',
        schema: {
          type: 'object',
          properties: { status: { const: 'ready' }, head: { type: 'integer' } },
        },
      },
      503: error(503),
    },
    async handler() {
      if (state.closing) throw new NotReadyError('the server is closing');
      if (ctx.store.isClosed) throw new NotReadyError('the event store is closed');
      let head: number;
      try {
        head = await ctx.store.headPosition();
      } catch {
        throw new NotReadyError('the event store does not answer');
      }
      const check = ctx.options.ready;
      if (check) {
        let ok: boolean;
        try {
          ok = await check();
        } catch {
          ok = false;
        }
        if (!ok) throw new NotReadyError('the readiness check failed');
      }
      return { status: 'ready', head };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['system'],
    access: 'admin',
    responses: {
      200: { description: 'Metrics', contentType: 'text/plain', schema: { type: 'string' } },
      401: error(401),
      403: error(403),
    },
    async handler(_request, reply) {
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  });

  ctx.route({
    method: 'GET',
    url: '/stats',
    operationId: 'stats',
    summary: 'Figures for the admin UI charts: head, throughput, projection and subscription lag',
    tags: ['system'],
    access: 'admin',
    responses: {
      200: {
        description: 'Stats',
        schema: {
          type: 'object',
          properties: {
            head: { type: 'integer' },
            uptimeSeconds: { type: 'number' },
            appends: {
              type: 'object',
              properties: { calls: { type: 'integer' }, events: { type: 'integer' } },
            },
            throughput: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  at: { type: 'string' },
                  head: { type: 'integer' },
                  eventsPerSecond: { type: 'number' },
                },
              },
            },
            projections: { type: 'array', items: { type: 'object' } },
            subscriptions: { type: 'array', items: { type: 'object' } },
            components: { type: 'array', items: { type: 'object' } },
            sse: { type: 'object', properties: { open: { type: 'integer' } } },
          },
        },
      },
      401: error(401),
      403: error(403),
    },
    async handler() {
      // Every lag comes from the metrics' runtime registry, as `/metrics` reports it.
      const { head, components } = await ctx.metrics.runtime.snapshot();
      const subscriptions = components
        .filter((c) => c.kind === 'subscription' || c.kind === 'saga')
        .map((c) => ({
          name: c.name,
          kind: c.kind,
          state: c.state,
          position: c.position,
          lag: c.lag,
          parked: c.parked ?? 0,
        }));
      return {
        head,
        uptimeSeconds: (Date.now() - state.startedAt) / 1000,
        appends: await state.appendCounts(),
        throughput: state.sampler.series(),
        projections: components
          .filter((c) => c.kind === 'projection')
          .map((c) => ({
            name: c.name,
            state: c.state,
            position: c.position,
            lag: { events: c.lag, seconds: c.lagSeconds },
            parked: c.parked,
          })),
        subscriptions,
        components,
        sse: { open: state.sseOpen() },
      };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tags: ['system'],
    access: 'public',
    responses: { 200: { description: 'OpenAPI 3.1 document', schema: { type: 'object' } } },
    handler() {
      return Promise.resolve(
        openApiDocument(ctx.routes, state.version, { prefix: ctx.app.prefix }),
      );
    },
  });
}
