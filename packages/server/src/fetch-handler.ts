import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { CausewayMetrics } from '@causewayjs/core/internals';
import { causeway, type CausewayPluginOptions } from './causeway-plugin.js';
import { newCausewayApp } from './create-server.js';
import { dispatchFetch } from './fetch-bridge.js';
import { problemErrorHandler, problemNotFoundHandler } from './mount-causeway.js';

/** Options of {@link createFetchHandler}: the plugin's (`prefix`, `store`, `guard`...). */
export type FetchHandlerOptions = CausewayPluginOptions;

/** The Causeway API as request handlers for a host application (see {@link createFetchHandler}). */
export interface CausewayFetchHandler {
  /**
   * The web-standard handler: a `Request` in, a `Response` out (Hono, Bun, Deno, workers).
   * Streamed responses (`GET /subscribe`) stream: each event reaches the caller as written.
   */
  fetch(request: Request): Promise<Response>;
  /**
   * A Node request listener (`node:http`, Express, Connect) over the same API, with no
   * translation at all. A request outside the prefix goes to `next` when given (Express
   * middleware), otherwise it is answered 404.
   */
  node(req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** The fastify instance behind both, e.g. for `inject` in tests. */
  readonly app: FastifyInstance;
  /** The metrics recorded and served at `<prefix>/metrics`. */
  readonly metrics: CausewayMetrics;
  /** Ends open event streams and closes the instance (the store stays open: it is yours). */
  close(): Promise<void>;
}

/**
 * Builds the Causeway API on a private fastify instance (the `causeway` plugin under
 * `prefix`) and hands it out as a web `fetch` handler and a Node request listener, for hosts
 * that are not fastify. Authentication, access checks, problem-details errors and CloudEvents
 * negotiation are the same as with `createServer`; listening, TLS and HSTS are the host's.
 *
 * @example
 * ```ts
 * const api = await createFetchHandler({ prefix: '/causeway', store, guard });
 * // Hono:    app.all('/causeway/*', (c) => api.fetch(c.req.raw));
 * // Bun:     Bun.serve({ fetch: (req) => api.fetch(req) });
 * // Deno:    Deno.serve((req) => api.fetch(req));
 * // Express: app.use(api.node);
 * ```
 */
export async function createFetchHandler(
  options: FetchHandlerOptions,
): Promise<CausewayFetchHandler> {
  const prefix = normalisePrefix(options.prefix);
  const metrics = options.metrics ?? new CausewayMetrics();
  const app = newCausewayApp(options);
  if (prefix !== '') {
    // Outside the prefix, too, a miss is problem details.
    app.setErrorHandler(problemErrorHandler);
    app.setNotFoundHandler(problemNotFoundHandler);
  }
  await app.register(causeway, { ...options, metrics, prefix });
  await app.ready();
  const routing = (req: IncomingMessage, res: ServerResponse) => app.routing(req, res);
  return {
    app,
    metrics,
    fetch: (request) => dispatchFetch(routing, request),
    node(req, res, next) {
      // Express hands mounted middleware a shortened `url`; the API routes on the full one.
      const full = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
      if (next && !underPrefix(full, prefix)) return next();
      req.url = full;
      routing(req, res);
    },
    close: () => app.close(),
  };
}

function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '' || prefix === '/') return '';
  return `/${prefix.replace(/^\/+|\/+$/g, '')}`;
}

function underPrefix(url: string, prefix: string): boolean {
  if (prefix === '') return true;
  const path = url.split('?')[0]!;
  return path === prefix || path.startsWith(`${prefix}/`);
}
