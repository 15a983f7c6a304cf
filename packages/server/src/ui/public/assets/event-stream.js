/* global EventSource, MessageEvent, fetch, setTimeout, clearTimeout, AbortController, TextDecoder */
/**
 * Server-sent events from the API. Without a credential this is the browser's EventSource,
 * which reconnects by itself and sends `Last-Event-ID` so the server resumes right after the
 * last event received. EventSource cannot send an `Authorization` header, so with a
 * credential the same protocol is read with `fetch`, reconnecting the same way by hand.
 */
import { ApiError, apiUrl } from './api.js';
import { authHeaders, getCredential } from './credentials.js';

/**
 * @typedef {object} StreamHandlers
 * @property {() => void} onOpen connected (again)
 * @property {(data: string, id: string) => void} onMessage one message (`data`, `id`)
 * @property {() => void} onReconnecting the connection dropped; reconnecting
 * @property {(error: ApiError) => void} onFail gave up: the server refused, or ended the
 *   stream with an `error` event
 */

/**
 * Opens an event stream; returns a function that closes it.
 * @param {string} url
 * @param {StreamHandlers} handlers
 * @returns {() => void}
 */
export function openEventStream(url, handlers) {
  return getCredential() ? fetchStream(url, handlers) : eventSource(url, handlers);
}

/**
 * @param {string} data
 */
function streamError(data) {
  try {
    const body = JSON.parse(data);
    // Problem details (RFC 9457): `code` and `detail`.
    return new ApiError(
      0,
      String(body?.code ?? 'STREAM_FAILED'),
      String(body?.detail ?? 'The event stream failed'),
    );
  } catch {
    return new ApiError(0, 'STREAM_FAILED', 'The event stream failed');
  }
}

/**
 * The error of a refused stream request, read from a second request (aborted at once if it
 * is accepted this time).
 * @param {string} url
 * @returns {Promise<ApiError>}
 */
async function refusal(url) {
  const controller = new AbortController();
  try {
    const response = await fetch(apiUrl(url), {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
      cache: 'no-store',
    });
    if (response.ok) {
      controller.abort();
      return new ApiError(0, 'STREAM_CLOSED', 'The event stream closed');
    }
    return await errorOf(response);
  } catch {
    return new ApiError(0, 'network_error', 'The server could not be reached');
  }
}

/**
 * The API error of a failed response.
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function errorOf(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  // Problem details (RFC 9457): `code`, `detail` and `details`.
  return new ApiError(
    response.status,
    String(body?.code ?? `http_${response.status}`),
    String(body?.detail ?? response.statusText),
    body?.details,
  );
}

/**
 * @param {string} url
 * @param {StreamHandlers} handlers
 */
function eventSource(url, handlers) {
  const es = new EventSource(apiUrl(url));
  es.onopen = () => handlers.onOpen();
  es.onmessage = (message) => handlers.onMessage(message.data, message.lastEventId);
  es.addEventListener('error', (event) => {
    // The server names a failure of the stream `error`; a bare Event is a dropped connection.
    if (event instanceof MessageEvent) {
      handlers.onFail(streamError(event.data));
      return;
    }
    if (es.readyState === EventSource.CLOSED) {
      // EventSource does not say why it was refused: ask again to read the API's error.
      void refusal(url).then((error) => handlers.onFail(error));
    } else {
      handlers.onReconnecting();
    }
  });
  return () => es.close();
}

/**
 * @param {string} url
 * @param {StreamHandlers} handlers
 */
function fetchStream(url, handlers) {
  const controller = new AbortController();
  let lastId = '';
  let retryMs = 2000;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  async function connect() {
    /** @type {Record<string, string>} */
    const headers = { accept: 'text/event-stream', ...authHeaders() };
    if (lastId) headers['last-event-id'] = lastId;
    let response;
    try {
      response = await fetch(apiUrl(url), {
        headers,
        signal: controller.signal,
        cache: 'no-store',
      });
    } catch {
      return again();
    }
    if (!response.ok || !response.body) {
      // Refusals (4xx) will not change by retrying; a server error may.
      if (response.status >= 500) return again();
      handlers.onFail(await errorOf(response));
      return;
    }
    handlers.onOpen();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          if (dispatch(block) === 'failed') return;
        }
      }
    } catch {
      // A dropped connection: reconnect below, unless closed.
    }
    return again();
  }

  /**
   * Handles one SSE block; returns 'failed' when the server ended the stream with an error.
   * @param {string} block
   */
  function dispatch(block) {
    let event = 'message';
    let id;
    /** @type {string[]} */
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id !== undefined) lastId = id;
    if (data.length === 0) return 'ok';
    if (event === 'error') {
      handlers.onFail(streamError(data.join('\n')));
      controller.abort();
      return 'failed';
    }
    if (event === 'message') handlers.onMessage(data.join('\n'), lastId);
    return 'ok';
  }

  function again() {
    if (controller.signal.aborted) return;
    handlers.onReconnecting();
    timer = setTimeout(() => void connect(), retryMs);
  }

  void connect();
  return () => {
    controller.abort();
    if (timer !== undefined) clearTimeout(timer);
  };
}
