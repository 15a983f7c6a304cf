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
import { pathToFileURL } from 'node:url';
import express from 'express';
import { MemoryEventStore } from '@causewayjs/core';
import {
  embeddedApi,
  runningHost,
  type EmbeddedServer,
  type EmbeddingOptions,
} from './embedded-server.js';

/** Starts an Express host with the API mounted under `prefix` (default `/causeway`). */
export async function startExpressServer(options: EmbeddingOptions): Promise<EmbeddedServer> {
  const { prefix, api } = await embeddedApi(options);
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
  return runningHost(server, api);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const store = new MemoryEventStore();
  const running = await startExpressServer({ store, port: 3000 });
  process.stdout.write(`host at ${running.url}/, Causeway at ${running.url}/causeway/\n`);
  const stop = () => void running.close().then(() => store.close());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
