// Helpers of the HTTP server tests: a JSON client, an SSE reader, and waiting on conditions.
import { request as httpRequest } from 'node:http';
import { createServer, type CausewayServer, type ServerOptions } from '@causewayjs/server';

/** A started server and a client bound to it. */
export interface Running {
  server: CausewayServer;
  url: string;
  http: HttpClient;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 at a random port. */
export async function startServer(options: ServerOptions): Promise<Running> {
  const server = await createServer({ statsSampleMs: 0, ...options });
  const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url, http: new HttpClient(url), close: () => server.close() };
}

/** An event as the API sends it. */
export interface EventBody {
  id: string;
  type: string;
  stream: string;
  revision: number;
  position: number;
  data: unknown;
  metadata: {
    correlationId?: string;
    causationId?: string;
    traceparent?: string;
    cloudEvent?: Record<string, unknown>;
    [key: string]: unknown;
  };
  schemaVersion: number;
  recordedAt: string;
}

/** An error reply: problem details (RFC 9457) with the Causeway `code` and `details`. */
export interface ErrorBody {
  type: string;
  title: string;
  detail: string;
  instance: string;
  code: string;
  details: {
    failures: { index: number; eventType: string }[];
    index: number;
    missing: string[];
    category: string;
    issues: unknown[];
    [key: string]: unknown;
  };
}

/**
 * The fields the tests read from replies of every route, typed (a reply has only those of
 * its route; reading another one's is a failed assertion, not a type error).
 */
export interface Body extends Omit<ErrorBody, 'status'> {
  events: EventBody[];
  event: EventBody;
  causedBy: EventBody[];
  caused: EventBody[];
  next: number | string | null;
  head: number;
  stream: string;
  revision: number;
  position: number;
  status: string;
  state: unknown;
  metadata: Record<string, unknown>;
  deleted: false | 'soft' | 'hard';
  streams: { stream: string; revision: number; deleted: false | 'soft' | 'hard' }[];
  sources: { name: string; kind: string; count: number }[];
  projections: { name: string; state: string; lag: { events: number } }[];
  subscriptions: { name: string; lag: number | null }[];
  instances: { id: string }[];
  schemas: { type: string; version: number }[];
  versions: unknown[];
  count: number;
  build: Record<string, unknown>;
  appends: { calls: number; events: number };
  sse: { open: number };
  paths: Record<string, Record<string, { responses?: unknown }>>;
  openapi: string;
}

/** A response, its body parsed as JSON when it is JSON. */
export interface Reply<T = Body> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A small fetch wrapper sending and reading JSON. */
export class HttpClient {
  constructor(readonly url: string) {}

  async request(
    method: string,
    path: string,
    options: { json?: unknown; body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Buffer | undefined = options.body;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await fetch(this.url + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = undefined;
    if ((response.headers.get('content-type') ?? '').includes('json') && text.length > 0)
      parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as Body, text };
  }

  get(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request('GET', path, headers ? { headers } : {});
  }

  post(path: string, json?: unknown, headers?: Record<string, string>): Promise<Reply> {
    return this.request('POST', path, { json, ...(headers ? { headers } : {}) });
  }

  put(path: string, json: unknown): Promise<Reply> {
    return this.request('PUT', path, { json });
  }

  delete(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request('DELETE', path, headers ? { headers } : {});
  }
}

/** One server-sent event as received. */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * An open SSE connection: collects messages as they arrive; `waitFor` resolves once a
 * condition on them holds; `close` aborts the connection from the client side.
 */
export class SseReader {
  readonly messages: SseMessage[] = [];
  status = 0;
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];
  private ended = false;
  private readonly done: Promise<void>;
  private readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    let open!: () => void;
    let fail!: (error: unknown) => void;
    this.opened = new Promise((resolve, reject) => {
      open = resolve;
      fail = reject;
    });
    // A connection closed (or refused) before its headers arrived rejects `opened`; that is
    // only an error for a caller awaiting `ready()`, never an unhandled rejection.
    this.opened.catch(() => undefined);
    this.done = (async () => {
      let response: Response;
      try {
        response = await fetch(url, { headers, signal: this.controller.signal });
      } catch (error) {
        fail(error);
        return;
      }
      this.status = response.status;
      open();
      if (!response.body) return;
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const message = parseBlock(block);
            if (message) {
              this.messages.push(message);
              this.notify();
            }
          }
        }
      } catch {
        // Aborted by close(), or the server ended the stream.
      } finally {
        this.ended = true;
        this.notify();
      }
    })();
  }

  /** Resolves once the response headers arrived. */
  ready(): Promise<void> {
    return this.opened;
  }

  /** The data messages (events), parsed. */
  events(): EventBody[] {
    return this.messages
      .filter((m) => m.event === undefined)
      .map((m) => JSON.parse(m.data) as EventBody);
  }

  /** True once the stream ended (either side). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Resolves when `condition` holds; rejects after `timeoutMs` or if the stream ends first. */
  waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        } else if (this.ended) {
          clearTimeout(timer);
          reject(
            new Error(
              `the stream ended before the condition held (${this.messages.length} messages)`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(
          new Error(`condition not met in ${timeoutMs} ms (${this.messages.length} messages)`),
        );
      }, timeoutMs);
      this.waiters.push(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }

  /** Resolves once the server ended the stream. */
  endedByServer(): Promise<void> {
    return this.done;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function parseBlock(block: string): SseMessage | undefined {
  let id: string | undefined;
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line.length === 0) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  return { id, event, data: data.join('\n') };
}

/** Polls `condition` until it holds, failing after `timeoutMs`. */
export async function eventually<T>(
  condition: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True when a response body shows no trace of a stack or of source paths. */
export function leaksNothing(text: string): boolean {
  return !/\n\s+at |\.ts:\d+|node_modules|\/work\//.test(text);
}

/** A request whose path is sent exactly as given (no URL normalisation), for path tricks. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method,
        path,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The JSON body of a fetch response, as the tests read it. */
export async function jsonOf(response: Response): Promise<Body> {
  return (await response.json()) as Body;
}
