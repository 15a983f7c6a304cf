import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { mountCauseway } from './mount-causeway.js';
import type { ServerOptions } from './server-options.js';

/**
 * Options of the {@link causeway} plugin: the server's options less what belongs to the
 * host's own instance and listener (TLS, HSTS, `allowInsecure`), plus fastify's `prefix`.
 */
export interface CausewayPluginOptions extends Omit<
  ServerOptions,
  'tls' | 'hsts' | 'allowInsecure'
> {
  /** Where the API is mounted (`/causeway`): every route, the 404 and the admin UI under it. */
  prefix?: string;
}

/**
 * The Causeway API as a fastify plugin, for a host application that has its own fastify
 * instance. It is registered encapsulated (no `fastify-plugin`): its authentication hook,
 * problem-details error and 404 handlers, body parsers and metrics hooks hold for its own
 * routes only, under its `prefix`, and leave the host's routes as they are. The head
 * position is sampled for `/stats` from the instance's `onReady`; open event streams end on
 * its `preClose`.
 *
 * The host's instance keeps its own options: give it `routerOptions: { maxParamLength: 1000 }`
 * (stream names run to 200 characters, percent-encoded to 600) and, for request ids from
 * `x-request-id`, the rest of `causewayFastifyOptions()`. The body limit is set per route
 * (`bodyLimit`, default 4 MiB).
 *
 * @example
 * ```ts
 * const app = Fastify({ routerOptions: { maxParamLength: 1000 } });
 * app.get('/hello', async () => 'host route');
 * await app.register(causeway, { prefix: '/causeway', store, guard });
 * // GET /causeway/streams/order-42, GET /causeway/subscribe, GET /causeway/ (admin UI)...
 * ```
 */
export const causeway: FastifyPluginAsync<CausewayPluginOptions> = async (
  instance: FastifyInstance,
  options: CausewayPluginOptions,
) => {
  // `prefix` is fastify's to apply; the rest are the server's options.
  const { prefix: _prefix, ...serverOptions } = options;
  const mount = await mountCauseway(instance, serverOptions);
  instance.addHook('onReady', (done) => {
    mount.start();
    done();
  });
  instance.addHook('onClose', (_instance, done) => {
    mount.stop();
    done();
  });
};
