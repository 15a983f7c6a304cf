import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { CausewayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { CausewayMetrics } from '../observability/metrics.js';
import { instrumentEventStore } from '../observability/instrument-event-store.js';
import { schemaRegistryOf, withSchemas } from '../schema/with-schemas.js';
import type { TransactionalEventStore } from '../store/event-store.js';
import { openAccess } from '../security/access-guard.js';
import { registerBodyParsers } from './body-parsers.js';
import { errorResponse } from './error-response.js';
import { HeadSampler } from './head-sampler.js';
import { hstsHeader } from './hsts.js';
import { RouteContext } from './route-context.js';
import { registerScavengeRoute } from './routes/scavenge-route.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerCloudEventsRoute } from './routes/cloud-events-route.js';
import { registerLogRoutes } from './routes/log-routes.js';
import { registerStreamRoutes } from './routes/stream-routes.js';
import { SseSessions, registerSubscribeRoute } from './routes/subscribe-route.js';
import { registerSystemRoutes } from './routes/system-routes.js';
import { securityErrorStatus } from '../security/security-errors.js';
import { HttpError, InsecureListenError, ServerErrorCode } from './server-errors.js';
import type { ServerOptions, TlsOptions } from './server-options.js';
import { registerAdminUi } from './ui/admin-ui.js';

/** Where a listening server can be reached. */
export interface ServerAddress {
  host: string;
  port: number;
  /** `http://host:port` (or `https://`), with IPv6 hosts in brackets. */
  url: string;
}

/** A Causeway HTTP server (see {@link createServer}). */
export interface CausewayServer {
  /** The fastify instance, e.g. to add routes or use `inject` in tests. */
  readonly app: FastifyInstance;
  /** The metrics it records and serves at `/metrics`. */
  readonly metrics: CausewayMetrics;
  /**
   * Starts listening. Refuses (with `InsecureListenError`) a non-loopback host while the guard
   * is `openAccess`, unless the server was created with `allowInsecure: true`.
   */
  listen(options?: { host?: string; port?: number }): Promise<ServerAddress>;
  /** Stops accepting requests, ends open event streams and waits for requests in flight. */
  close(): Promise<void>;
}

/** Default request body limit: room for a batch of events at the store's 1 MiB event limit. */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

const VERSION = '0.1.0';

/**
 * Creates the HTTP server of an event store: the JSON API (streams, the global log, SSE,
 * CloudEvents, projections, parked events, sagas, schemas), health and readiness, Prometheus
 * metrics, the OpenAPI document, and the admin UI at `/`. Every request is authenticated once
 * by the guard and authorised per route (per stream for stream routes); errors are always
 * `{ "error": { "code", "message", "details" } }`.
 *
 * @example
 * ```ts
 * const store = SqliteEventStore.open('./data/events.db');
 * const server = await createServer({ store, logger: createLogger() });
 * const { url } = await server.listen({ host: '127.0.0.1', port: 3000 });
 * // ...
 * await server.close();
 * await store.close();
 * ```
 */
export async function createServer(options: ServerOptions): Promise<CausewayServer> {
  const guard = options.guard ?? openAccess;
  const metrics = options.metrics ?? new CausewayMetrics();
  const store = instrumentEventStore(schemaCheckedStore(options), { metrics });
  const schemas = options.schemas ?? schemaRegistryOf(options.store);
  const hsts = hstsHeader(options.hsts);

  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : newId();
    },
    requestIdHeader: false,
    // Stream names may be 200 characters, percent-encoded up to three times as long.
    routerOptions: { maxParamLength: 1000 },
    ...(options.tls ? { https: loadTls(options.tls) } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  metrics.trackHead(() => options.store.headPosition());
  for (const projector of options.projectors ?? []) metrics.trackProjections(projector);
  // A subscription without a status here (it runs elsewhere) reads `unknown`, lag null: never
  // a position of 0, whose lag would be the whole log. A live source of the same name wins.
  for (const subscription of options.subscriptions ?? []) {
    metrics.runtime.add({
      async readings() {
        const status = subscription.status;
        return [
          {
            kind: 'subscription',
            name: subscription.name,
            state: status?.state ?? 'unknown',
            position: status?.position,
            parked: await subscription.parkedCount(),
          },
        ];
      },
    });
  }
  if (options.sagas) metrics.trackSagas(options.sagas);

  const ctx = new RouteContext(
    app,
    store,
    { ...options, ...(schemas ? { schemas } : {}) },
    guard,
    metrics,
    options.logger,
  );
  const sessions = new SseSessions();
  const sampler = new HeadSampler(options.store, options.statsSampleMs ?? 1000);
  const state = {
    startedAt: Date.now(),
    closing: false,
    version: VERSION,
    sampler,
    appendCounts: async () => {
      const okCalls = (await metrics.appends.get()).values.filter((v) => v.labels.result === 'ok');
      const events = (await metrics.eventsAppended.get()).values;
      return {
        calls: okCalls.reduce((n, v) => n + v.value, 0),
        events: events.reduce((n, v) => n + v.value, 0),
      };
    },
    sseOpen: () => sessions.size,
  };

  // Text bodies strictly UTF-8 (400 INVALID_ENCODING otherwise), any other body as raw bytes.
  registerBodyParsers(app);

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (hsts !== undefined && options.tls) void reply.header('strict-transport-security', hsts);
    const config = request.routeOptions.config as { causeway?: { access: string } } | undefined;
    // Only API routes authenticate: unknown paths get their 404, the UI's static files are public.
    if (!config?.causeway || config.causeway.access === 'public') return;
    try {
      await ctx.authenticate(request);
    } catch (error) {
      // A guard rejects with a CausewayError whose code says why (see AccessGuard).
      const code = error instanceof CausewayError ? error.code : ServerErrorCode.UNAUTHENTICATED;
      ctx.denied(request, 'authenticate', code, request.routeOptions.url ?? request.url);
      // 401 unless the guard's error says otherwise (431 for oversized credentials).
      const status = securityErrorStatus[code] ?? 401;
      throw new HttpError(
        status === 431 ? 431 : 401,
        code,
        error instanceof Error ? error.message : 'Authentication failed',
      );
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const response = errorResponse(error);
    if (response.internal) request.log.error({ err: error }, 'request failed');
    else if (response.status >= 500)
      request.log.warn({ code: response.body.error.code }, response.body.error.message);
    else
      request.log.info(
        { code: response.body.error.code, status: response.status },
        'request refused',
      );
    return reply.code(response.status).type('application/json; charset=utf-8').send(response.body);
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: {
        code: ServerErrorCode.ROUTE_NOT_FOUND,
        message: `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
        details: null,
      },
    }),
  );

  registerStreamRoutes(ctx);
  registerLogRoutes(ctx);
  registerSubscribeRoute(ctx, sessions);
  registerCloudEventsRoute(ctx);
  registerAdminRoutes(ctx);
  registerScavengeRoute(ctx);
  registerSystemRoutes(ctx, state);
  if (options.adminUi !== false) await registerAdminUi(app);

  app.addHook('preClose', (done) => {
    state.closing = true;
    sampler.stop();
    sessions.endAll();
    done();
  });

  return {
    app,
    metrics,
    async listen({ host = '127.0.0.1', port = 0 } = {}) {
      if (guard === openAccess && !options.allowInsecure && !isLoopback(host)) {
        throw new InsecureListenError(host);
      }
      await app.listen({ host, port });
      sampler.start();
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const shownHost = isIP(host) === 6 ? `[${host}]` : host;
      return {
        host,
        port: actualPort,
        url: `${options.tls ? 'https' : 'http'}://${shownHost}:${actualPort}`,
      };
    },
    async close() {
      state.closing = true;
      sampler.stop();
      sessions.endAll();
      await app.close();
    },
  };
}

/**
 * The store every route reads and writes through: `options.store`, under a `withSchemas`
 * layer of `options.schemas` unless the store validates already (it is, or stacks, a
 * `withSchemas` store) or `validateAppends` is false. Made once, so that every route that
 * appends (streams, CloudEvents, any added later), inside a transaction or not, is validated
 * the same way. The layer upcasts reads only as far as upcasters lead, and the server is
 * given none: events come out as stored unless the given store upcasts itself.
 */
function schemaCheckedStore(options: ServerOptions): TransactionalEventStore {
  if (
    options.schemas === undefined ||
    options.validateAppends === false ||
    schemaRegistryOf(options.store) !== undefined
  )
    return options.store;
  return withSchemas(options.store, { registry: options.schemas, upcast: 'available' });
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' ||
    h === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === '::ffff:127.0.0.1'
  );
}

/** PEM text as given, or read from a path when it is not PEM. */
function loadTls(tls: TlsOptions): { cert: string | Buffer; key: string | Buffer } {
  const load = (value: string | Buffer) =>
    typeof value === 'string' && !value.includes('-----BEGIN') ? readFileSync(value) : value;
  return { cert: load(tls.cert), key: load(tls.key) };
}
