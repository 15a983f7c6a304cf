/**
 * The Causeway API inside a plain `node:http` application: the host answers its own routes
 * (`/` and `/orders/summary`), the API lives under `/causeway` (JSON API, server-sent events,
 * CloudEvents, the admin UI at `/causeway/`), and anything else is the host's 404. An Express
 * application mounts the same listener with `app.use(api.node)`: it routes on `originalUrl`
 * and hands anything outside the prefix to `next`.
 *
 * Run it with `npx tsx examples/embedded/embedded-server.ts` (an in-memory store on
 * 127.0.0.1:3000).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { MemoryEventStore, type TransactionalEventStore, type AccessGuard } from '@causewayjs/core';
import { createFetchHandler, type CausewayFetchHandler } from '@causewayjs/server';

/** A running host application. */
export interface EmbeddedServer {
  url: string;
  api: CausewayFetchHandler;
  close(): Promise<void>;
}

/** What a host application is started with. */
export interface EmbeddingOptions {
  store: TransactionalEventStore;
  guard?: AccessGuard;
  /** Where the API is mounted (default `/causeway`). */
  prefix?: string;
  port?: number;
}

/** The API's handlers for a host, mounted under the options' prefix. */
export async function embeddedApi(
  options: EmbeddingOptions,
): Promise<{ prefix: string; api: CausewayFetchHandler }> {
  const prefix = options.prefix ?? '/causeway';
  const api = await createFetchHandler({
    prefix,
    store: options.store,
    ...(options.guard ? { guard: options.guard } : {}),
  });
  return { prefix, api };
}

/** A running host: its URL, and a close that ends the API's event streams first. */
export function runningHost(server: Server, api: CausewayFetchHandler): EmbeddedServer {
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    api,
    async close() {
      // Ends the API's open event streams first, so the HTTP server can close.
      await api.close();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

/** Starts the host application with the API mounted under `prefix` (default `/causeway`). */
export async function startEmbeddedServer(options: EmbeddingOptions): Promise<EmbeddedServer> {
  const { prefix, api } = await embeddedApi(options);
  const server: Server = createServer((req, res) => {
    // The host's own routes come first; the API's listener takes its prefix.
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`Causeway is at ${prefix}/\n`);
      return;
    }
    if (req.method === 'GET' && req.url === '/orders/summary') {
      void summary(options.store).then((body) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      );
      return;
    }
    api.node(req, res, () =>
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not here\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return runningHost(server, api);
}

/** A host route of its own: how many order streams the store holds. */
async function summary(store: TransactionalEventStore): Promise<{ orders: number }> {
  let orders = 0;
  for await (const info of store.listStreams({ prefix: 'order-' })) if (info) orders++;
  return { orders };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const store = new MemoryEventStore();
  const running = await startEmbeddedServer({ store, port: 3000 });
  process.stdout.write(`host at ${running.url}/, Causeway at ${running.url}/causeway/\n`);
  const stop = () => void running.close().then(() => store.close());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
