import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { AdminUiMissingError } from './admin-ui-errors.js';

/**
 * The admin UI's files: plain ES modules, CSS and one HTML page, with no build step. Resolved
 * next to this module so the same code serves them from `src/` (run by tsx) and from `dist/`
 * (where the build copies them).
 */
export const ADMIN_UI_ROOT = fileURLToPath(new URL('./public/', import.meta.url));

/**
 * Content-Security-Policy of the UI's files: everything comes from the server itself (the UI
 * never loads anything from elsewhere), no inline scripts or styles, no framing. Event data
 * is rendered as text, and this is the second line of defence if it ever were not.
 */
export const ADMIN_UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Options of {@link registerAdminUi}. */
export interface AdminUiOptions {
  /** Folder of the UI's files. Default {@link ADMIN_UI_ROOT}. */
  root?: string;
}

/**
 * Serves the admin web UI at `/` (its page) and `/assets/*` (its scripts and styles). The UI
 * talks to the server's JSON API from the browser, so it needs nothing else from the server.
 *
 * Only the files present at start are routed (no wildcard route), so the API's own routes
 * and its 404 handler are untouched; the UI navigates with `#/...` fragments.
 *
 * @throws {AdminUiMissingError} when the folder holds no `index.html`.
 * @example
 * ```ts
 * const app = Fastify();
 * await registerAdminUi(app);
 * // GET / → the admin UI
 * ```
 */
export async function registerAdminUi(
  app: FastifyInstance,
  options: AdminUiOptions = {},
): Promise<void> {
  const root = options.root ?? ADMIN_UI_ROOT;
  if (!existsSync(join(root, 'index.html'))) throw new AdminUiMissingError(root);
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: 'index.html',
    // Another plugin (or a second UI) may decorate the reply too; we never call sendFile.
    decorateReply: false,
    // The files change with the package version; a short cache with revalidation is enough.
    maxAge: 0,
    etag: true,
    // Not part of the JSON API: keep these routes out of the OpenAPI document.
    schemaHide: true,
    setHeaders(res) {
      res.setHeader('content-security-policy', ADMIN_UI_CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
    },
  });
}
