/* global fetch, URLSearchParams */
/**
 * The server's JSON API, as the admin UI uses it. Every failure becomes an {@link ApiError}
 * carrying the `code`, `detail` and `details` of the server's problem details (RFC 9457) when
 * it sent them.
 */
import { authHeaders } from './credentials.js';

/** An error answer of the API, or a failure to reach it. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} code the API's error code
   * @param {string} message
   * @param {unknown} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * The address of an API path relative to the page, so the UI also works when a proxy serves
 * the server under a path prefix (`/causeway/` → `/causeway/streams`).
 * @param {string} path an API path such as `/streams?prefix=order-`
 */
export function apiUrl(path) {
  return path.replace(/^\/+/, '');
}

/**
 * Encodes one path segment (stream names may hold `/`, `#`, spaces...).
 * @param {string | number} value
 */
export function seg(value) {
  return encodeURIComponent(String(value));
}

/**
 * Builds a query string from the defined, non-empty values.
 * @param {Record<string, unknown>} params
 */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * Calls the API and returns the decoded JSON body (undefined for an empty body).
 * @param {string} path
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, options = {}) {
  const method = options.method ?? 'GET';
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...authHeaders() };
  /** @type {RequestInit} */
  const init = { method, headers, signal: options.signal };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path), init);
  } catch (cause) {
    if (cause instanceof Error && cause.name === 'AbortError') throw cause;
    throw new ApiError(
      0,
      'network_error',
      'The server could not be reached. Is it still running?',
      cause instanceof Error ? cause.message : undefined,
    );
  }
  const text = await response.text();
  let body;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  if (!response.ok) {
    if (body && typeof body === 'object' && typeof body.code === 'string') {
      throw new ApiError(
        response.status,
        body.code,
        String(body.detail ?? body.title ?? response.statusText),
        body.details,
      );
    }
    throw new ApiError(
      response.status,
      `http_${response.status}`,
      `${method} ${path} failed: ${response.status} ${response.statusText}`,
      text && body === undefined ? text.slice(0, 500) : body,
    );
  }
  return body;
}

/**
 * Picks the list out of an answer that is either a list or an object holding one under one
 * of the given keys (the API wraps lists so it can add paging fields beside them).
 * @param {unknown} body
 * @param {string[]} keys
 * @returns {any[]}
 */
export function listOf(body, keys) {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    for (const key of [...keys, 'items', 'data', 'results']) {
      const value = /** @type {Record<string, unknown>} */ (body)[key];
      if (Array.isArray(value)) return value;
    }
  }
  return [];
}
