/**
 * The Causeway API inside an Express application: the host's own JSON routes and body
 * parser, the API mounted under `/causeway` with `app.use(api.node)`. The Causeway listener
 * is mounted before `express.json()`, because it reads request bodies itself (a body parser
 * placed first would consume them).
 *
 * Run it with `npx tsx examples/embedded/express-server.ts` (an in-memory store on
 * 127.0.0.1:3000).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { MemoryEventStore, type TransactionalEventStore } from '../../src/index.js';
import type { AccessGuard } from '../../src/security/access-guard.js';
import { createFetchHandler } from '../../src/server/index.js';
import type { EmbeddedServer } from './embedded-server.js';

/** Starts an Express host with the API mounted under `prefix` (default `/causeway`). */
export async function startExpressServer(options: {
  store: TransactionalEventStore;
  guard?: AccessGuard;
  prefix?: string;
  port?: number;
}): Promise<EmbeddedServer> {
  const prefix = options.prefix ?? '/causeway';
  const api = await createFetchHandler({
    prefix,
    store: options.store,
    ...(options.guard ? { guard: options.guard } : {}),
  });
  const app = express();
  // The API first: it routes on originalUrl and passes anything outside its prefix on.
  app.use((req, res, next) => api.node(req, res, next));
  app.use(express.json());
  app.get('/', (_req, res) => {
    res.type('text/plain').send(`Causeway is at ${prefix}/\n`);
  });
  // A host route of its own that writes through the same store.
  app.post('/orders/:id/notes', (req, res, next) => {
    const body = req.body as { text?: unknown } | undefined;
    if (typeof body?.text !== 'string') {
      res.status(400).json({ error: 'text must be a string' });
      return;
    }
    options.store
      .append(`order-${req.params.id}`, [{ type: 'order.noted', data: { text: body.text } }])
      .then((result) => res.status(201).json({ position: result.position }))
      .catch(next);
  });
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not here\n');
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(options.port ?? 0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    api,
    async close() {
      await api.close();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const store = new MemoryEventStore();
  const running = await startExpressServer({ store, port: 3000 });
  process.stdout.write(`host at ${running.url}/, Causeway at ${running.url}/causeway/\n`);
  const stop = () => void running.close().then(() => store.close());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
