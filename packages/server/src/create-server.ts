import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { openAccess } from '@causewayjs/core';
import type { CausewayMetrics } from '@causewayjs/core/internals';
import { mountCauseway } from './mount-causeway.js';
import { DEFAULT_ROUTE_BODY_LIMIT } from './route-context.js';
import { InsecureListenError } from './server-errors.js';
import type { ServerOptions, TlsOptions } from './server-options.js';

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
export const DEFAULT_BODY_LIMIT = DEFAULT_ROUTE_BODY_LIMIT;

/**
 * Creates the HTTP server of an event store: the JSON API (streams, the global log, SSE,
 * CloudEvents, projections, parked events, sagas, schemas), health and readiness, Prometheus
 * metrics, the OpenAPI document, and the admin UI at `/`. Every request is authenticated once
 * by the guard and authorised per route (per stream for stream routes); errors are always
 * RFC 9457 problem details (`application/problem+json`) carrying the stable `code`. To serve
 * the API inside another application instead, see the `causeway` fastify plugin and
 * `createFetchHandler`.
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
  const app = newCausewayApp(options);
  const mount = await mountCauseway(app, options);

  return {
    app,
    metrics: mount.metrics,
    async listen({ host = '127.0.0.1', port = 0 } = {}) {
      if (guard === openAccess && !options.allowInsecure && !isLoopback(host)) {
        throw new InsecureListenError(host);
      }
      await app.listen({ host, port });
      mount.start();
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
      mount.stop();
      await app.close();
    },
  };
}

/**
 * The fastify instance options Causeway's own instances use (`createServer`,
 * `createFetchHandler`): its logger, body limit, `x-request-id` handling, room for long
 * stream names in paths (`routerOptions.maxParamLength`), and TLS when given. A host that
 * registers the `causeway` plugin on its own instance may spread these into its options.
 */
export function causewayFastifyOptions(
  options: Pick<ServerOptions, 'logger' | 'bodyLimit' | 'tls'>,
): Parameters<typeof Fastify>[0] {
  return {
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      // Only unique, not ordered: node's UUIDs draw on a cache of random bytes (no syscall each).
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // Stream names may be 200 characters, percent-encoded up to three times as long.
    routerOptions: { maxParamLength: 1000 },
    ...(options.tls ? { https: loadTls(options.tls) } : {}),
  } as Parameters<typeof Fastify>[0];
}

/**
 * A Fastify instance with Causeway's settings. Fastify's factory types its instance by the
 * server options (HTTP or HTTPS), which are only known at run time here; the routes use the
 * default instance type either way.
 */
export function newCausewayApp(
  options: Pick<ServerOptions, 'logger' | 'bodyLimit' | 'tls'>,
): FastifyInstance {
  return Fastify(causewayFastifyOptions(options)) as unknown as FastifyInstance;
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
