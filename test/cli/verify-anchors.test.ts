import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteBackend } from '@causewayjs/sqlite';
import { openBackend, stackBackend } from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';
import { cli } from './cli-harness.js';

describe('causeway verify: chain anchors', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-verify-'));
    file = join(dir, 'events.db');
    const backend = openSqliteBackend(file);
    const view = await stackBackend(backend, { integrity: true });
    await view.store.append('order-1', [
      { type: 'order.placed', data: {} },
      { type: 'order.paid', data: {} },
      { type: 'order.shipped', data: {} },
    ]);
    await view.store.append('order-2', [{ type: 'order.placed', data: {} }]);
    await backend.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const sql = (statement: string) => {
    const db = new Database(file);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
  };

  it('passes, exports the heads, then locates deleted last events and a rollback', async () => {
    const store = `sqlite:${file}`;
    const heads = join(dir, 'heads.json');
    const ok = await cli(['verify', '--store', store, '--export-heads', heads]);
    expect(ok.stdout).toContain(
      'ok: 4 events in 2 streams verified (2 anchored, 0 without anchors)',
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(readFileSync(heads, 'utf8'))).toMatchObject([
      { stream: 'order-1', revision: 2 },
      { stream: 'order-2', revision: 0 },
    ]);
    sql(`DELETE FROM causeway_events WHERE stream = 'order-1' AND revision = 2;
         UPDATE causeway_streams SET revision = 1 WHERE name = 'order-1'`);
    const truncated = await cli(['verify', '--store', store]);
    expect(truncated.code).toBe(5);
    expect(truncated.stdout).toContain(
      'BROKEN: stream "order-1" revision 2: truncated (revisions 2 to 2 missing, last stored revision 1, anchored revision 2)',
    );
    // The anchor row rolled back too: only the heads kept elsewhere tell.
    sql(`DELETE FROM causeway_chain_anchors WHERE stream = 'order-1'`);
    expect((await cli(['verify', '--store', store])).code).toBe(0);
    expect((await cli(['verify', '--store', store, '--require-anchors'])).code).toBe(5);
    const rolled = await cli(['verify', '--store', store, '--expect-heads', heads, '--json']);
    expect(rolled.code).toBe(5);
    expect(JSON.parse(rolled.stdout)).toMatchObject({
      ok: false,
      broken: { stream: 'order-1', revision: 2, reason: 'expected-head-missing' },
    });
  });

  it('refuses a head list it cannot read', async () => {
    const run = await cli(['verify', '--store', `sqlite:${file}`, '--expect-heads', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('head list');
  });
});

describe.skipIf(!(await pgAvailable()))('causeway verify: chain anchors on PostgreSQL', () => {
  let schema: string;
  let url: string;
  beforeEach(async () => {
    schema = randomSchemaName();
    url = `${pgUrl}?schema=${schema}`;
    const backend = await openBackend(url);
    const view = await stackBackend(backend, { integrity: true });
    await view.store.append('order-1', [
      { type: 'order.placed', data: {} },
      { type: 'order.paid', data: {} },
      { type: 'order.shipped', data: {} },
    ]);
    await view.store.append('order-2', [{ type: 'order.placed', data: {} }]);
    await backend.close();
  });
  afterEach(() => dropSchema(schema));

  it('locates deleted last events, a deleted stream and a stream row ahead of its events', async () => {
    const ok = await cli(['verify', '--store', url]);
    expect(ok.stdout).toContain(
      'ok: 4 events in 2 streams verified (2 anchored, 0 without anchors)',
    );
    expect(ok.code).toBe(0);
    await pgExec(`DELETE FROM ${schema}.causeway_events WHERE stream = 'order-2'`);
    const gone = await cli(['verify', '--store', url, '--json']);
    expect(gone.code).toBe(5);
    expect(JSON.parse(gone.stdout)).toMatchObject({
      ok: false,
      broken: { stream: 'order-2', reason: 'stream-missing' },
    });
    await pgExec(`DELETE FROM ${schema}.causeway_chain_anchors WHERE stream = 'order-2'`);
    await pgExec(`DELETE FROM ${schema}.causeway_streams WHERE name = 'order-2'`);
    await pgExec(`DELETE FROM ${schema}.causeway_events WHERE stream = 'order-1' AND revision = 2`);
    const truncated = await cli(['verify', '--store', url]);
    expect(truncated.code).toBe(5);
    expect(truncated.stdout).toContain(
      'BROKEN: stream "order-1" revision 2: truncated (revisions 2 to 2 missing, last stored revision 1, anchored revision 2)',
    );
    // Anchor and last event gone together: the stream row still disagrees.
    await pgExec(`DELETE FROM ${schema}.causeway_chain_anchors WHERE stream = 'order-1'`);
    const head = await cli(['verify', '--store', url, '--json']);
    expect(head.code).toBe(5);
    expect(JSON.parse(head.stdout)).toMatchObject({
      broken: { stream: 'order-1', reason: 'head-mismatch', storedRevision: 1, streamRevision: 2 },
    });
  });
});
