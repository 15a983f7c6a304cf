// The OpenAPI document is well formed: unique operation ids, every path parameter declared,
// every schema compiling, and every API route of the server in it.
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventStore } from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';

interface Operation {
  operationId: string;
  summary: string;
  parameters?: { name: string; in: string; required: boolean; schema: object }[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
}

describe('the OpenAPI document', () => {
  let store: MemoryEventStore;
  let server: CausewayServer;
  let doc: {
    openapi: string;
    info: { title: string; version: string };
    paths: Record<string, Record<string, Operation>>;
  };
  const routes: { method: string; url: string }[] = [];

  beforeAll(async () => {
    store = new MemoryEventStore();
    server = await createServer({ store, statsSampleMs: 0 });
    const reply = await server.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(reply.statusCode).toBe(200);
    doc = reply.json();
    // Every route the server answers, from fastify's route tree (one level per 4 columns).
    await server.app.ready();
    const stack: string[] = [];
    for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const match = /^([\s│├└─]*)(\S+) \(([A-Z, ]+)\)$/.exec(line);
      if (!match) continue;
      const depth = match[1]!.length / 4;
      stack.length = depth;
      const url = (stack[depth - 1] ?? '') + match[2]!;
      stack[depth] = url;
      for (const method of match[3]!.split(', '))
        if (method !== 'HEAD') routes.push({ method: method.toLowerCase(), url });
    }
  });

  afterAll(async () => {
    await server.close();
    await store.close();
  });

  it('is OpenAPI 3.1 with unique operation ids and described responses', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Causeway' });
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(['get', 'post', 'put', 'delete']).toContain(method);
        expect(operation.summary.length, `${method} ${path}`).toBeGreaterThan(0);
        expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const response of Object.values(operation.responses))
          expect(response.description.length).toBeGreaterThan(0);
        const declared = (operation.parameters ?? [])
          .filter((p) => p.in === 'path')
          .map((p) => p.name);
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(declared.sort(), `${method} ${path}`).toEqual(inPath.sort());
        for (const parameter of operation.parameters ?? [])
          expect(['path', 'query', 'header']).toContain(parameter.in);
      }
    }
  });

  it('holds JSON Schemas that compile', () => {
    const ajv = new Ajv({ strict: false });
    let compiled = 0;
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations)) {
        const schemas = [
          ...(operation.parameters ?? []).map((p) => p.schema),
          ...Object.values(operation.requestBody?.content ?? {}).map((c) => c.schema),
          ...Object.values(operation.responses).flatMap((r) =>
            Object.values(r.content ?? {}).map((c) => c.schema),
          ),
        ];
        for (const schema of schemas) {
          ajv.compile(schema);
          compiled++;
        }
      }
    }
    expect(compiled).toBeGreaterThan(50);
  });

  it('documents every API route the server answers', () => {
    const api = routes.filter(
      (r) => !r.url.startsWith('/assets') && r.url !== '/' && r.url !== '/index.html',
    );
    expect(api.length).toBeGreaterThan(25);
    for (const route of api) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method], `${route.method} ${route.url}`).toBeDefined();
    }
  });
});
