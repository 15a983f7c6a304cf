import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON } from './cloud-events.js';
import { InvalidEncodingError } from './server-errors.js';

/** The media types whose bodies are text: decoded as UTF-8, strictly, before anything else. */
export const TEXT_MEDIA_TYPES = [
  'application/json',
  CLOUDEVENTS_JSON,
  CLOUDEVENTS_BATCH_JSON,
  'text/plain',
] as const;

const JSON_MEDIA_TYPES = new Set<string>([
  'application/json',
  CLOUDEVENTS_JSON,
  CLOUDEVENTS_BATCH_JSON,
]);

/**
 * Registers the server's body parsers:
 * - JSON (`application/json` and the CloudEvents JSON types) and `text/plain` bodies are
 *   checked to be UTF-8 first: a body that is not valid UTF-8 is refused
 *   with 400 `INVALID_ENCODING`, on every route, before it is parsed, so no event is ever
 *   stored with U+FFFD in place of bytes the client sent. JSON is then parsed as fastify
 *   does by default (`__proto__` and `constructor` keys refused);
 * - any other body is kept as raw bytes (binary-mode CloudEvents store them as base64; every
 *   other route refuses a media type it does not take with 415).
 */
export function registerBodyParsers(app: FastifyInstance): void {
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(
    [...TEXT_MEDIA_TYPES],
    { parseAs: 'buffer' },
    (request: FastifyRequest, body: Buffer | string, done) => {
      const contentType = mediaType(request);
      if (typeof body !== 'string' && !isUtf8(body)) {
        done(new InvalidEncodingError(contentType), undefined);
        return;
      }
      const text = typeof body === 'string' ? body : decodeUtf8(body);
      // fastify's JSON parser answers through `done` (its return value is nothing to wait for).
      if (JSON_MEDIA_TYPES.has(contentType)) void jsonParser(request, text, done);
      else done(null, text);
    },
  );
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });
}

/** Valid UTF-8 bytes as text, without a leading byte order mark (as `TextDecoder` drops it). */
function decodeUtf8(body: Buffer): string {
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The request's media type, lower case, without parameters. */
function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
