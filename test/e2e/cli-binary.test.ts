import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, nack, openEventStore, Subscription } from '@causewayjs/core';
import { sqliteSubscriptionStorage, type SqliteEventStore } from '@causewayjs/sqlite';
import { ExitCode } from '@causewayjs/cli/internals';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const execFileAsync = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
const pg = await pgAvailable();

// The binary is the compiled CLI as the package ships it: every workspace package built in
// place (`npm run build`, scripts/build-packages.mjs), so its imports resolve to the built
// packages through the workspace links, as they would once installed.
const main = join(repo, 'packages/cli/dist/esm/main.js');
const work = mkdtempSync(join(tmpdir(), 'causeway-cli-bin-'));
const schemas: string[] = [];

beforeAll(async () => {
  await execFileAsync(process.execPath, ['scripts/build-packages.mjs'], { cwd: repo });
  expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
}, 240_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  for (const schema of schemas) await dropSchema(schema);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `causeway` binary in the work directory (so the default store is under it). */
async function causeway(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [main, ...args], {
      cwd: work,
      env: { ...process.env, CAUSEWAY_STORE: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const sqlite = (name: string) => `sqlite:${join(work, name)}`;

describe('the causeway binary', () => {
  it('appends to and reads the default store under ./data, with --json', async () => {
    const appended = await causeway('append', 'order-1', 'order.placed', '{"total":12}', '--json');
    expect(appended).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(appended.stdout)).toEqual({ stream: 'order-1', revision: 0, position: 1 });
    const read = await causeway('read', 'order-1', '--json', '--store', 'sqlite:./data/events.db');
    expect(JSON.parse(read.stdout)).toMatchObject({ type: 'order.placed', data: { total: 12 } });
    expect(readFileSync(join(work, 'data/events.db')).length).toBeGreaterThan(0);
  });

  it('exits with documented codes and clear messages on bad input', async () => {
    const store = sqlite('codes.db');
    await causeway('append', 's-1', 'a.b', '{}', '--store', store);
    const conflict = await causeway(
      'append',
      's-1',
      'a.b',
      '{}',
      '--store',
      store,
      '--expected-revision',
      'no_stream',
    );
    expect(conflict.code).toBe(ExitCode.CONFLICT);
    expect(conflict.stderr).toMatch(/^causeway: WRONG_EXPECTED_REVISION: /);
    expect((await causeway('read', 'missing', '--store', store)).code).toBe(ExitCode.NOT_FOUND);
    const url = await causeway('read', 's-1', '--store', 'redis://localhost', '--json');
    expect(url.code).toBe(ExitCode.USAGE);
    expect(JSON.parse(url.stderr)).toMatchObject({ error: { code: 'UNSUPPORTED_STORE_URL' } });
    expect((await causeway('append', 's-1', 'a.b', '[1,', '--store', store)).code).toBe(
      ExitCode.INVALID_DATA,
    );
    expect((await causeway('nonsense')).code).toBe(ExitCode.USAGE);
    expect((await causeway('--help')).code).toBe(ExitCode.OK);
  });

  // `memory:` once failed with `rm.table is not a function` from the installed package.
  it.each([
    ['SQLite', () => sqlite('demo.db')],
    ['memory', () => 'memory:'],
  ])('runs the shop demo on %s from the built packages, without tsx', async (_, storeUrl) => {
    const demo = await causeway(
      'demo',
      '--store',
      storeUrl(),
      '--orders',
      '3',
      '--rate',
      '20',
      '--port',
      '0',
      '--status-every',
      '0',
      '--json',
    );
    expect(demo.code, demo.stderr).toBe(ExitCode.OK);
    const summary = JSON.parse(demo.stdout.trim().split('\n').at(-1) ?? '') as {
      event?: string;
      counts?: { total?: number; placed?: number };
    };
    expect(summary).toMatchObject({ event: 'status', counts: { total: 3, placed: 0 } });
  });

  it('stops at a malformed JSONL line with its number, keeping the batches before it', async () => {
    const file = join(work, 'bad.jsonl');
    const source = sqlite('bad-source.db');
    for (let i = 0; i < 5; i++)
      await causeway('append', `s-${i}`, 'a.b', `{"i":${i}}`, '--store', source);
    await causeway('export', file, '--store', source);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    lines[3] = '{"id":"x"}';
    writeFileSync(file, lines.join('\n'));
    const target = sqlite('bad-target.db');
    const run = await causeway('import', file, '--store', target, '--batch-size', '2');
    expect(run.code).toBe(ExitCode.INVALID_DATA);
    expect(run.stderr).toMatch(/line 4: "id" must be the event's UUID/);
    expect(run.stderr).toMatch(/2 events up to line 2 were committed/);
    const read = await causeway('read', '--store', target, '--json');
    expect(read.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('retries and skips parked events', async () => {
    const url = sqlite('parked.db');
    const store = (await openEventStore(url)) as SqliteEventStore;
    const storage = await sqliteSubscriptionStorage(store);
    for (let i = 1; i <= 3; i++) await store.append(`job-${i}`, [{ type: 'job.queued', data: {} }]);
    const subscription = new Subscription({
      name: 'jobs',
      storage,
      handler: () => nack.park('broken'),
    });
    await subscription.start();
    await subscription.waitForPosition(3, { timeoutMs: 5000 });
    await subscription.stop();
    try {
      const list = await causeway('parked', 'list', 'jobs', '--store', url, '--json');
      expect((JSON.parse(list.stdout) as unknown[]).length).toBe(3);
      expect((await causeway('parked', 'skip', 'jobs', '1', '3', '--store', url)).code).toBe(0);
      expect((await causeway('parked', 'retry', 'jobs', '2', '--store', url)).code).toBe(0);
      expect((await causeway('parked', 'retry', 'jobs', '9', '--store', url)).code).toBe(
        ExitCode.NOT_FOUND,
      );
      const left = await storage.parked.list('jobs');
      expect(left.map((p) => [p.position, p.retryRequested])).toEqual([[2, true]]);
    } finally {
      await store.close();
    }
  });

  it.skipIf(!pg)(
    'moves a store from SQLite to PostgreSQL, preserving every event, and resumes',
    async () => {
      const source = sqlite('move.db');
      const store = await openEventStore(source);
      for (let i = 0; i < 30; i++)
        await store.append(`order-${i % 4}`, [
          {
            type: 'order.noted',
            data: { i, text: 'é€😀' },
            metadata: { correlationId: `c${i}`, n: i },
          },
        ]);
      const original = await collect(store.readAll());
      await store.close();

      const schema = randomSchemaName();
      schemas.push(schema);
      const target = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`;
      const file = join(work, 'move.jsonl');
      expect((await causeway('export', file, '--store', source)).code).toBe(0);
      const first = await causeway(
        'import',
        file,
        '--store',
        target,
        '--batch-size',
        '8',
        '--json',
      );
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ events: 30, alreadyPresent: 0 });
      const again = await causeway('import', file, '--store', target, '--json');
      expect(JSON.parse(again.stdout)).toMatchObject({
        events: 30,
        alreadyPresent: 30,
        headPosition: 30,
      });

      const moved = await openEventStore(target);
      try {
        expect(await collect(moved.readAll())).toEqual(original);
        expect((await moved.streamInfo('order-3')).revision).toBe(6);
      } finally {
        await moved.close();
      }
    },
  );
});
