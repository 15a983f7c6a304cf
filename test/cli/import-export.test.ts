import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { collect, newId, openEventStore } from '@causewayjs/core';
import { type EventJson, ExitCode } from '@causewayjs/cli/internals';
import { cli, jsonLines } from './cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-cli-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let source: string;
let target: string;
beforeEach(() => {
  n++;
  source = `sqlite:${join(dir, `source-${n}.db`)}`;
  target = `sqlite:${join(dir, `target-${n}.db`)}`;
});

/** Writes `count` events over three streams, with metadata and a schema version. */
async function fill(url: string, count: number): Promise<void> {
  const store = await openEventStore(url);
  try {
    for (let i = 0; i < count; i++)
      await store.append(`order-${i % 3}`, [
        {
          type: i % 2 === 0 ? 'order.placed' : 'order.paid',
          data: { i, nested: { list: [i, 'x'] } },
          metadata: { correlationId: `c-${i}`, actor: 'test', custom: { n: i } },
          schemaVersion: 1 + (i % 2),
        },
      ]);
  } finally {
    await store.close();
  }
}

async function readAllOf(url: string) {
  const store = await openEventStore(url);
  try {
    return await collect(store.readAll());
  } finally {
    await store.close();
  }
}

describe('export and import', () => {
  it('round-trips every field: ids, types, data, metadata, revisions, order and recordedAt', async () => {
    await fill(source, 25);
    const file = join(dir, `export-${n}.jsonl`);
    const exported = await cli(['export', file, '--store', source, '--json']);
    expect(exported.code).toBe(ExitCode.OK);
    expect(JSON.parse(exported.stdout)).toMatchObject({ events: 25, lastPosition: 25 });
    const lines = jsonLines(readFileSync(file, 'utf8')) as EventJson[];
    expect(lines.map((l) => l.position)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));

    const imported = await cli(['import', file, '--store', target, '--batch-size', '7', '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(ExitCode.OK);
    expect(JSON.parse(imported.stdout)).toMatchObject({
      events: 25,
      alreadyPresent: 0,
      lastLine: 25,
    });

    const [before, after] = await Promise.all([readAllOf(source), readAllOf(target)]);
    expect(after).toEqual(before);
  });

  it('is idempotent: a second run adds nothing and says all were present', async () => {
    await fill(source, 10);
    const file = join(dir, `export-${n}.jsonl`);
    await cli(['export', file, '--store', source]);
    expect((await cli(['import', file, '--store', target])).code).toBe(ExitCode.OK);
    const again = await cli(['import', file, '--store', target, '--json']);
    expect(again.code).toBe(ExitCode.OK);
    expect(JSON.parse(again.stdout)).toMatchObject({ events: 10, alreadyPresent: 10 });
    expect(await readAllOf(target)).toHaveLength(10);
  });

  it('stops at a malformed line, naming it, with whole batches before it committed and none after', async () => {
    await fill(source, 10);
    const file = join(dir, `export-${n}.jsonl`);
    await cli(['export', file, '--store', source]);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    lines[6] = '{"id": "not json at all", ';
    const broken = join(dir, `broken-${n}.jsonl`);
    writeFileSync(broken, `${lines.join('\n')}\n`);

    const run = await cli(['import', broken, '--store', target, '--batch-size', '3', '--json']);
    expect(run.code).toBe(ExitCode.INVALID_DATA);
    const error = (JSON.parse(run.stderr) as { error: Record<string, unknown> }).error;
    expect(error.code).toBe('CLI_INVALID_INPUT');
    expect(error.message).toMatch(/^line 7: not valid JSON/);
    // Batches of 3: lines 1-3 and 4-6 committed; line 7's batch (7-9) not at all.
    expect(error.imported).toEqual({ events: 6, streams: 0, lastLine: 6 });
    expect((await readAllOf(target)).map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6]);

    // Fixed and run again: the import resumes, the committed events count as present.
    writeFileSync(broken, readFileSync(file));
    const resumed = await cli(['import', broken, '--store', target, '--json']);
    expect(resumed.code).toBe(ExitCode.OK);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ events: 10, alreadyPresent: 6 });
    expect(await readAllOf(target)).toEqual(await readAllOf(source));
  });

  it('refuses lines that are JSON but not events, naming the line and the field', async () => {
    const file = join(dir, `bad-${n}.jsonl`);
    const good = { id: newId(), type: 'a.b', stream: 's-1', revision: 0, data: {} };
    writeFileSync(
      file,
      `${JSON.stringify(good)}\n\n${JSON.stringify({ ...good, id: newId(), revision: -1 })}\n`,
    );
    const run = await cli(['import', file, '--store', target]);
    expect(run.code).toBe(ExitCode.INVALID_DATA);
    expect(run.stderr).toMatch(/line 3: "revision" must be an integer >= 0/);
    expect(run.stderr).toMatch(/0 events up to line 0 were committed/);
    expect(await readAllOf(target)).toEqual([]);
  });

  it('fails with a conflict, not a renumbering, when a target stream is elsewhere', async () => {
    await fill(source, 4);
    const file = join(dir, `export-${n}.jsonl`);
    await cli(['export', file, '--store', source]);
    const store = await openEventStore(target);
    await store.append('order-1', [{ type: 'other.thing', data: {} }]);
    await store.close();
    const run = await cli(['import', file, '--store', target, '--batch-size', '1']);
    expect(run.code).toBe(ExitCode.CONFLICT);
    expect(run.stderr).toMatch(/line 2: stream "order-1" is at revision 0 in the target store/);
    // Line 1 (order-0) went in its own batch before the conflict; nothing after.
    expect((await readAllOf(target)).map((e) => e.stream)).toEqual(['order-1', 'order-0']);
  });

  it('exports a filtered part of the log to stdout', async () => {
    await fill(source, 6);
    const run = await cli(['export', '--store', source, '--type', 'order.paid', '--from', '3']);
    expect(run.code).toBe(ExitCode.OK);
    const events = jsonLines(run.stdout) as EventJson[];
    expect(events.map((e) => e.position)).toEqual([4, 6]);
    expect(events.every((e) => e.type === 'order.paid')).toBe(true);
  });

  it('refuses a missing file and a bad batch size as usage errors', async () => {
    expect((await cli(['import', join(dir, 'nope.jsonl'), '--store', target])).code).toBe(
      ExitCode.USAGE,
    );
    const file = join(dir, `empty-${n}.jsonl`);
    writeFileSync(file, '');
    expect((await cli(['import', file, '--store', target, '--batch-size', '0'])).code).toBe(
      ExitCode.USAGE,
    );
  });
});

describe('stream state in exports', () => {
  it('carries metadata, soft deletes and tombstones over, and re-imports idempotently', async () => {
    const store = await openEventStore(source);
    await store.append('kept-1', [
      { type: 'a.b', data: { n: 1 } },
      { type: 'a.b', data: { n: 2 } },
    ]);
    await store.setStreamMetadata('kept-1', { maxCount: 1, owner: 'ops' });
    await store.append('soft-1', [{ type: 'a.b', data: {} }]);
    await store.deleteStream('soft-1');
    await store.append('hard-1', [
      { type: 'a.b', data: {} },
      { type: 'a.b', data: {} },
    ]);
    await store.deleteStream('hard-1', { hard: true });
    await store.append('plain-1', [{ type: 'a.b', data: {} }]);
    const infos = async (s: Awaited<ReturnType<typeof openEventStore>>) =>
      Promise.all(['kept-1', 'soft-1', 'hard-1', 'plain-1'].map((name) => s.streamInfo(name)));
    const expected = await infos(store);
    const log = await collect(store.readAll());
    await store.close();

    const file = join(dir, `state-${n}.jsonl`);
    const exported = await cli(['export', file, '--store', source, '--json']);
    // A tombstoned stream's events are out of the global log, so out of the export: only its
    // tombstone is carried over.
    expect(JSON.parse(exported.stdout)).toMatchObject({ events: 4, streams: 3 });
    const first = await cli(['import', file, '--store', target, '--json']);
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toMatchObject({ events: 4, streams: 3 });
    // Again: nothing changes.
    const again = await cli(['import', file, '--store', target, '--json', '--batch-size', '2']);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toMatchObject({ events: 4, alreadyPresent: 4, streams: 3 });

    const restored = await openEventStore(target);
    try {
      const [kept, soft, hard, plain] = expected;
      expect(await infos(restored)).toEqual([kept, soft, { ...hard, revision: null }, plain]);
      // The same events, renumbered where the tombstoned stream's were.
      const unpositioned = (events: typeof log) => events.map(({ position: _p, ...e }) => e);
      expect(unpositioned(await collect(restored.readAll()))).toEqual(unpositioned(log));
      expect((await collect(restored.readStream('kept-1'))).map((e) => e.data)).toEqual([{ n: 2 }]);
    } finally {
      await restored.close();
    }

    const eventsOnly = await cli(['export', '--store', source, '--no-streams']);
    expect(jsonLines(eventsOnly.stdout)).toHaveLength(4);
  });
});
