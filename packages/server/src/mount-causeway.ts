import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CausewayError,
  schemaRegistryOf,
  withSchemas,
  type TransactionalEventStore,
  openAccess,
  securityErrorStatus,
} from '@causewayjs/core';
import {
  CausewayMetrics,
  attachAppendMetrics,
  instrumentEventStore,
} from '@causewayjs/core/internals';
import { registerBodyParsers } from './body-parsers.js';
import { registerCloudEventsOut } from './cloud-events-out.js';
import { PROBLEM_JSON, errorResponse, problemDetails } from './error-response.js';
import { HeadSampler } from './head-sampler.js';
import { hstsHeader } from './hsts.js';
import { RouteContext } from './route-context.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerCloudEventsRoute } from './routes/cloud-events-route.js';
import { registerLogRoutes } from './routes/log-routes.js';
import { registerScavengeRoute } from './routes/scavenge-route.js';
import { registerStreamRoutes } from './routes/stream-routes.js';
import { SseSessions, registerSubscribeRoute } from './routes/subscribe-route.js';
import { registerSystemRoutes } from './routes/system-routes.js';
import { HttpError, ServerErrorCode } from './server-errors.js';
import type { ServerOptions } from './server-options.js';
import { registerAdminUi } from './ui/admin-ui.js';

/** The server's version, as `/health` and the OpenAPI document report it. */
export const SERVER_VERSION = '0.0.0';

/** What {@link mountCauseway} set up, for whoever owns the fastify instance. */
export interface CausewayMount {
  /** The metrics recorded and served at `/metrics`. */
  readonly metrics: CausewayMetrics;
  /** Starts sampling the head position for `/stats`. */
  start(): void;
  /** Marks the API as closing (`/ready` answers 503), stops sampling, ends open event streams. */
  stop(): void;
}

/**
 * Registers the whole API (routes, body parsers, authentication, problem-details errors, the
 * 404 handler, metrics hooks, the admin UI) on a fastify instance: the root one of
 * `createServer`, or the encapsulated context of the `causeway` plugin, where every hook and
 * handler stays inside the plugin's prefix.
 */
export async function mountCauseway(
  app: FastifyInstance,
  options: ServerOptions,
): Promise<CausewayMount> {
  const guard = options.guard ?? openAccess;
  const metrics = options.metrics ?? new CausewayMetrics();
  const checked = schemaCheckedStore(options);
  // A stack with an instrumented layer counts every append made through it, by any component:
  // the server's metrics go on that layer (and off again when it closes).
  const detachMetrics = attachAppendMetrics(checked, metrics);
  const store = detachMetrics ? checked : instrumentEventStore(checked, { metrics });
  const schemas = options.schemas ?? schemaRegistryOf(options.store);
  const hsts = hstsHeader(options.hsts);

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
    version: SERVER_VERSION,
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

  // A callback hook: a request of an open server, or of a public route, waits for nothing.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (hsts !== undefined && options.tls) void reply.header('strict-transport-security', hsts);
    // The open guard authenticates nobody: every caller is anonymous.
    if (guard === openAccess) return done();
    const config = request.routeOptions.config as { causeway?: { access: string } } | undefined;
    // Only API routes authenticate: unknown paths get their 404, the UI's static files are public.
    if (!config?.causeway || config.causeway.access === 'public') return done();
    ctx.authenticate(request).then(
      () => done(),
      (error: unknown) => {
        // A guard rejects with a CausewayError whose code says why (see AccessGuard).
        const code = error instanceof CausewayError ? error.code : ServerErrorCode.UNAUTHENTICATED;
        // 401 unless the guard's error says otherwise (431 for oversized credentials).
        const status = securityErrorStatus[code] ?? 401;
        const refusal = new HttpError(
          status === 431 ? 431 : 401,
          code,
          error instanceof Error ? error.message : 'Authentication failed',
        );
        try {
          ctx.denied(request, 'authenticate', code, request.routeOptions.url ?? request.url);
        } catch (failure) {
          // Counting or logging the denial failed: the request still gets an answer (a 500).
          done(failure instanceof Error ? failure : new Error(String(failure)));
          return;
        }
        done(refusal);
      },
    );
  });

  // A callback hook: nothing to wait for, so no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler(problemNotFoundHandler);

  registerCloudEventsOut(ctx);
  registerStreamRoutes(ctx);
  registerLogRoutes(ctx);
  registerSubscribeRoute(ctx, sessions);
  registerCloudEventsRoute(ctx);
  registerAdminRoutes(ctx);
  registerScavengeRoute(ctx);
  registerSystemRoutes(ctx, state);
  if (options.adminUi !== false) await registerAdminUi(app);

  const stop = () => {
    state.closing = true;
    sampler.stop();
    sessions.endAll();
    detachMetrics?.();
  };
  app.addHook('preClose', (done) => {
    stop();
    done();
  });
  return { metrics, start: () => sampler.start(), stop };
}

/**
 * The error handler of the API: anything thrown becomes problem details
 * (`application/problem+json`, see `ProblemDetails`), logged by its kind.
 */
export async function problemErrorHandler(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const response = errorResponse(error, { instance: request.url });
  if (response.internal) request.log.error({ err: error }, 'request failed');
  else if (response.status >= 500)
    request.log.warn({ code: response.body.code }, response.body.detail);
  else request.log.info({ code: response.body.code, status: response.status }, 'request refused');
  return reply.code(response.status).type(PROBLEM_JSON).send(response.body);
}

/** The 404 of the API, as problem details with code `ROUTE_NOT_FOUND`. */
export async function problemNotFoundHandler(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const path = request.url.split('?')[0]!.slice(0, 200);
  return reply
    .code(404)
    .type(PROBLEM_JSON)
    .send(
      problemDetails({
        status: 404,
        code: ServerErrorCode.ROUTE_NOT_FOUND,
        detail: `No route ${request.method} ${path}`,
        instance: path,
      }),
    );
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
