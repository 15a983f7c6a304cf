import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_UI_CSP, registerAdminUi } from './admin-ui.js';
import { AdminUiErrorCode, AdminUiMissingError } from './admin-ui-errors.js';

describe('registerAdminUi', () => {
  let app: FastifyInstance | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page at / and its modules under /assets, with the CSP', async () => {
    app = Fastify();
    await registerAdminUi(app);
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(ADMIN_UI_CSP);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script type="module" src="assets/app.js"></script>');

    // Every module the page loads is served, as JavaScript.
    for (const path of ['/assets/app.js', '/assets/api.js', '/assets/views/tail.js']) {
      const asset = await app.inject({ method: 'GET', url: path });
      expect(asset.statusCode, path).toBe(200);
      expect(asset.headers['content-type'], path).toMatch(/javascript/);
    }
  });

  it('routes only its own files: other paths reach the app (its 404, its routes)', async () => {
    app = Fastify();
    app.get('/streams', () => ({ streams: [] }));
    await registerAdminUi(app);
    expect((await app.inject({ method: 'GET', url: '/streams' })).json()).toEqual({ streams: [] });
    expect((await app.inject({ method: 'GET', url: '/assets/nope.js' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/../package.json' })).statusCode).toBe(404);
  });

  it('refuses to start without its files, with a typed error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-ui-missing-'));
    dirs.push(dir);
    app = Fastify();
    const failure = registerAdminUi(app, { root: dir });
    await expect(failure).rejects.toBeInstanceOf(AdminUiMissingError);
    await expect(failure).rejects.toMatchObject({
      code: AdminUiErrorCode.ADMIN_UI_MISSING,
      root: dir,
    });
  });
});
