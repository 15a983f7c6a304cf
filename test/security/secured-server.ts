// Shared fixture of the HTTP security tests: a server guarded by API keys (an admin, a reader
// of the `order-` category, a writer of it, and two tenant users), over a backend opened from
// a URL: SQLite always, PostgreSQL when the test server answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAccessGuard,
  generateApiKey,
  type SecurityGuard,
  openBackend,
  type Backend,
} from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

export const keys = {
  admin: generateApiKey('admin'),
  reader: generateApiKey('reader'),
  writer: generateApiKey('writer'),
  acme: generateApiKey('acme'),
  globex: generateApiKey('globex'),
};

/** Who calls: one of {@link keys}, or nobody. */
export type Caller = keyof typeof keys | undefined;

/** A backend to run a test on, and how to throw it away. */
export interface BackendTarget {
  name: string;
  available: boolean;
  open(): Promise<{ backend: Backend; cleanup: () => Promise<void> }>;
}

/** SQLite, and PostgreSQL when it answers (skipped loudly otherwise; see pgAvailable). */
export async function backendTargets(): Promise<BackendTarget[]> {
  const pg = await pgAvailable();
  return [
    {
      name: 'sqlite',
      available: true,
      async open() {
        const dir = mkdtempSync(join(tmpdir(), 'causeway-secured-'));
        const backend = await openBackend(`sqlite:${join(dir, 'events.db')}`);
        return {
          backend,
          cleanup: async () => {
            await backend.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 'postgres',
      available: pg,
      async open() {
        const schema = randomSchemaName();
        const backend = await openBackend(`${pgUrl}?schema=${schema}`);
        return {
          backend,
          cleanup: async () => {
            await backend.close();
            await dropSchema(schema);
          },
        };
      },
    },
  ];
}

/** A reply: status, parsed JSON body (or `{}`), the raw text, and an error's code. */
export interface Reply {
  status: number;
  /**
   * The error code of an error reply, whatever the body's shape (`{ code }` problem details
   * or `{ error: { code } }`); undefined for a success. Assert on this, not the body's shape.
   */
  code: string | undefined;
  body: Record<string, unknown> & { error?: { code: string; message: string; details: unknown } };
  text: string;
}

/** What a request carries. */
export interface RequestInit {
  as?: Caller;
  /** Sent as JSON (`application/json` unless `contentType` says otherwise). */
  json?: unknown;
  /** Sent as is (bytes or text), with `contentType`. */
  body?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A guarded server over `backend.store`, called with fastify's inject (no socket). */
export interface SecuredServer {
  server: CausewayServer;
  guard: SecurityGuard;
  call(method: string, path: string, init?: RequestInit): Promise<Reply>;
  /** POST /streams/:stream with `{ events }`. */
  append(stream: string, events: unknown[], as: Caller): Promise<Reply>;
}

export async function securedServer(backend: Backend): Promise<SecuredServer> {
  const guard = createAccessGuard({
    apiKeys: [
      { id: keys.admin.id, hash: keys.admin.hash, roles: ['admin'] },
      { id: keys.reader.id, hash: keys.reader.hash, roles: ['reader'] },
      { id: keys.writer.id, hash: keys.writer.hash, roles: ['writer'] },
      { id: keys.acme.id, hash: keys.acme.hash, roles: ['tenant-user'], tenant: 'acme' },
      { id: keys.globex.id, hash: keys.globex.hash, roles: ['tenant-user'], tenant: 'globex' },
    ],
    rules: [
      { roles: ['admin'], prefix: '', allow: ['read', 'write', 'delete', 'admin'] },
      { roles: ['reader'], category: 'order', allow: ['read'] },
      { roles: ['writer'], category: 'order', allow: ['read', 'write'] },
      { roles: ['writer'], prefix: 'acme:', allow: ['read', 'write'] },
      { roles: ['tenant-user'], prefix: '{tenant}:', allow: ['read', 'write'] },
    ],
  });
  const server = await createServer({
    store: backend.store,
    guard,
    adminUi: false,
    statsSampleMs: 0,
  });
  const call = async (method: string, path: string, init: RequestInit = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.as) headers.authorization = `ApiKey ${keys[init.as].key}`;
    let payload: Buffer | string | undefined;
    if (init.json !== undefined) {
      payload = JSON.stringify(init.json);
      headers['content-type'] = init.contentType ?? 'application/json';
    } else if (init.body !== undefined) {
      payload = init.body;
      if (init.contentType) headers['content-type'] = init.contentType;
    }
    const response = await server.app.inject({
      method: method as 'GET',
      url: path,
      headers,
      ...(payload !== undefined ? { payload } : {}),
    });
    let body: Reply['body'] = {};
    try {
      body = JSON.parse(response.body) as Reply['body'];
    } catch {
      // Not JSON: the text is there.
    }
    const code = typeof body.code === 'string' ? body.code : body.error?.code;
    return { status: response.statusCode, body, code, text: response.body };
  };
  return {
    server,
    guard,
    call,
    append: (stream, events, as) =>
      call('POST', `/streams/${encodeURIComponent(stream)}`, { as, json: { events } }),
  };
}
