import { ServerResponse, type IncomingMessage } from 'node:http';
import { Readable, Writable } from 'node:stream';

/** A Node request listener, such as fastify's `routing`. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Statuses whose responses have no body (the `Response` constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Bytes buffered for a slow reader before the response reports backpressure. */
const HIGH_WATER_MARK = 64 * 1024;

/**
 * Serves one web `Request` through a Node request listener: the request becomes an
 * `IncomingMessage`-like stream (its body read first: the API's bodies are bounded), and
 * the listener's response becomes a `Response` as soon as its head is written, its body a
 * `ReadableStream` fed by every `write` as it happens. So a streamed response (server-sent
 * events) reaches the caller incrementally, with backpressure (`write` returns false past
 * 64 KiB unread, and `drain` follows a read), and cancelling the body (the caller went away)
 * closes the response as a dropped connection would.
 */
export async function dispatchFetch(listener: NodeListener, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (body !== undefined && headers['transfer-encoding'] === undefined)
    headers['content-length'] = String(body.length);

  const req = new Readable({
    read() {
      if (body !== undefined && body.length > 0) this.push(body);
      this.push(null);
    },
  }) as Readable & Record<string, unknown>;
  Object.assign(req, {
    method: request.method,
    url: `${url.pathname}${url.search}`,
    headers,
    rawHeaders: Object.entries(headers).flat(),
    httpVersion: '1.1',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    complete: true,
    socket: { remoteAddress: undefined, encrypted: url.protocol === 'https:' },
  });
  const incoming = req as unknown as IncomingMessage;

  return new Promise<Response>((resolve) => {
    const res = new ServerResponse(incoming);
    // Makes node keep every header in its table, also those given to writeHead directly.
    res.setHeader('x-causeway-bridge', '1');
    res.removeHeader('x-causeway-bridge');
    // Node writes the serialised head and chunks to the socket; here they go nowhere, the
    // bytes reach the caller through the stream below instead.
    res.assignSocket(
      new Writable({
        write(_chunk, _encoding, callback) {
          callback();
        },
      }) as never,
    );

    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let ended = false;
    const stream = new ReadableStream<Uint8Array>(
      {
        start(c) {
          controller = c;
        },
        pull() {
          res.emit('drain');
        },
        cancel() {
          ended = true;
          res.destroy();
          incoming.emit('close');
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }),
    );
    const noBody = request.method === 'HEAD';

    let headSent = false;
    const sendHead = () => {
      if (headSent) return;
      headSent = true;
      const outgoing = new Headers();
      for (const [name, value] of Object.entries(res.getHeaders())) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) outgoing.append(name, v);
        else outgoing.set(name, String(value));
      }
      const nullBody = noBody || NULL_BODY_STATUSES.has(res.statusCode);
      if (nullBody) {
        ended = true;
        controller.close();
      }
      resolve(
        new Response(nullBody ? null : stream, {
          status: res.statusCode,
          ...(res.statusMessage ? { statusText: res.statusMessage } : {}),
          headers: outgoing,
        }),
      );
    };

    const writeHead = res.writeHead.bind(res);
    res.writeHead = ((...args: Parameters<typeof res.writeHead>) => {
      const result = writeHead(...args);
      sendHead();
      return result;
    }) as typeof res.writeHead;

    const write = res.write.bind(res);
    const enqueue = (chunk: unknown, encoding: unknown): boolean => {
      if (chunk === undefined || chunk === null || ended || noBody) return true;
      const bytes =
        typeof chunk === 'string'
          ? Buffer.from(chunk, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding)
          : Buffer.from(chunk as Uint8Array);
      if (bytes.length === 0) return true;
      controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return (controller.desiredSize ?? 0) > 0;
    };
    res.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      // Node's own bookkeeping (implicit head, headersSent), then the bytes to the caller.
      write(chunk, encoding as BufferEncoding, callback as () => void);
      sendHead();
      return enqueue(chunk, encoding);
    }) as typeof res.write;

    const end = res.end.bind(res);
    res.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
      if (typeof chunk === 'function') return end(chunk as () => void);
      if (chunk !== undefined && chunk !== null) res.write(chunk, encoding as BufferEncoding);
      const done = typeof encoding === 'function' ? encoding : callback;
      const result = end(done as () => void);
      sendHead();
      if (!ended) {
        ended = true;
        controller.close();
      }
      return result;
    }) as typeof res.end;
    res.once('finish', () => res.destroy());

    request.signal?.addEventListener('abort', () => {
      if (ended) return;
      ended = true;
      controller.error(request.signal.reason);
      res.destroy();
      incoming.emit('close');
    });

    listener(incoming, res);
  });
}
