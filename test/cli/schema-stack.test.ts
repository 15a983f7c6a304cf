// Every CLI command works on one stack of the store: appends and imports are validated
// against the schema registry stored in it (what `causeway schema register` writes), reads
// go through the same stack, and `serve` serves it (HTTP, CloudEvents, SSE).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, newId, openEventStore } from '@causewayjs/core';
import { type CliIo, cliExtensions, ExitCode, runCli } from '@causewayjs/cli/internals';
import { cli, jsonLines } from './cli-harness.js';

const COUNTED_V1 = JSON.stringify({
  type: 'object',
  required: ['n'],
  properties: { n: { type: 'number' } },
});
const COUNTED_V2 = JSON.stringify({
  type: 'object',
  required: ['n'],
  properties: { n: { type: 'number' }, unit: { type: 'string' } },
});

describe('the CLI validates and reads through one stack of the store', () => {
  let dir: string;
  let store: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-cli-schemas-'));
    store = `sqlite:${join(dir, 'events.db')}`;
    const registered = await cli(['schema', 'register', 'n.counted', COUNTED_V1, '--store', store]);
    expect(registered.code).toBe(ExitCode.OK);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function storedEvents() {
    const events = await openEventStore(store);
    try {
      return await collect(events.readAll());
    } finally {
      await events.close();
    }
  }

  it('append refuses data its registered schema refuses, with the error, writing nothing', async () => {
    const refused = await cli([
      'append',
      'counter-1',
      'n.counted',
      '{"n":"NOT A NUMBER"}',
      '--store',
      store,
    ]);
    expect(refused.code).toBe(ExitCode.INVALID_DATA);
    expect(refused.stderr).toContain('SCHEMA_VALIDATION_FAILED');
    expect(refused.stderr).toContain('$.n');
    expect(await storedEvents()).toEqual([]);

    const json = await cli([
      'append',
      'counter-1',
      'n.counted',
      '{"n":"x"}',
      '--store',
      store,
      '--json',
    ]);
    expect(json.code).toBe(ExitCode.INVALID_DATA);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: { code: 'SCHEMA_VALIDATION_FAILED', exitCode: ExitCode.INVALID_DATA },
    });

    const accepted = await cli(['append', 'counter-1', 'n.counted', '{"n":3}', '--store', store]);
    expect(accepted.code).toBe(ExitCode.OK);
    expect((await storedEvents()).map((e) => [e.data, e.schemaVersion])).toEqual([[{ n: 3 }, 1]]);
  });

  it('import refuses a file holding an invalid event, naming its line; a one-batch file writes nothing', async () => {
    const file = join(dir, 'in.jsonl');
    const line = (revision: number, data: unknown) =>
      JSON.stringify({ id: newId(), type: 'n.counted', stream: 'counter-1', revision, data });
    writeFileSync(
      file,
      [line(0, { n: 1 }), line(1, { n: 'NOT A NUMBER' }), line(2, { n: 3 })].join('\n'),
    );

    const refused = await cli(['import', file, '--store', store]);
    expect(refused.code).toBe(ExitCode.INVALID_DATA);
    expect(refused.stderr).toContain('line 2: n.counted does not match its schema v1');
    expect(refused.stderr).toContain('$.n');
    expect(await storedEvents()).toEqual([]);

    // In batches, those before the failing one stay committed, and the error says how far.
    const batched = await cli(['import', file, '--store', store, '--batch-size', '1', '--json']);
    expect(batched.code).toBe(ExitCode.INVALID_DATA);
    expect(JSON.parse(batched.stderr)).toMatchObject({
      error: { code: 'CLI_INVALID_INPUT', imported: { events: 1, lastLine: 1 } },
    });
    expect((await storedEvents()).map((e) => e.data)).toEqual([{ n: 1 }]);
  });

  it('read and tail go through the stack: old events read as stored once a new version is registered', async () => {
    expect(
      (await cli(['append', 'counter-1', 'n.counted', '{"n":1}', '--store', store])).code,
    ).toBe(ExitCode.OK);
    const v2 = await cli(['schema', 'register', 'n.counted', COUNTED_V2, '--store', store]);
    expect(v2.code).toBe(ExitCode.OK);
    // The CLI has no upcasters: a v1 event comes out at v1 (no UPCASTER_MISSING), and new
    // appends are validated against, and stamped with, v2.
    expect(
      (await cli(['append', 'counter-1', 'n.counted', '{"n":2,"unit":7}', '--store', store])).code,
    ).toBe(ExitCode.INVALID_DATA);
    expect(
      (await cli(['append', 'counter-1', 'n.counted', '{"n":2,"unit":"kg"}', '--store', store]))
        .code,
    ).toBe(ExitCode.OK);
    const read = await cli(['read', 'counter-1', '--store', store, '--json']);
    expect(read.code).toBe(ExitCode.OK);
    expect(
      (jsonLines(read.stdout) as { data: unknown; schemaVersion: number }[]).map((e) => [
        e.data,
        e.schemaVersion,
      ]),
    ).toEqual([
      [{ n: 1 }, 1],
      [{ n: 2, unit: 'kg' }, 2],
    ]);
    const tail = await cli(['tail', '--from', '1', '--limit', '2', '--store', store, '--json']);
    expect(tail.code).toBe(ExitCode.OK);
    expect(jsonLines(tail.stdout)).toHaveLength(2);
  });

  it('serve validates every write path against the stored registry: streams and CloudEvents alike', async () => {
    const stop = new AbortController();
    let printed = '';
    let listening: (url: string) => void = () => undefined;
    const address = new Promise<string>((resolve) => (listening = resolve));
    const io: CliIo = {
      stdout: new Writable({
        write(chunk: Buffer, _encoding, done) {
          printed += chunk.toString();
          const found = printed.split('\n').find((l) => l.includes('"listening"'));
          if (found) listening((JSON.parse(found) as { url: string }).url);
          done();
        },
      }),
      stderr: new Writable({ write: (_c, _e, done) => done() }),
      interactive: false,
      env: {},
      signal: stop.signal,
    };
    const running = runCli(
      ['serve', '--store', store, '--port', '0', '--json'],
      io,
      cliExtensions(io),
    );
    try {
      const base = await Promise.race([
        address,
        running.then((code) => Promise.reject(new Error(`serve exited with ${code}`))),
      ]);
      const viaStreams = await fetch(`${base}streams/counter-1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ type: 'n.counted', data: { n: 'NOT A NUMBER' } }] }),
      });
      expect(viaStreams.status).toBe(422);
      const viaCloudEvents = await fetch(`${base}cloudevents`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({
          specversion: '1.0',
          id: 'c-1',
          source: '/test',
          type: 'n.counted',
          subject: 'counter-1',
          data: { n: 'NOT A NUMBER' },
        }),
      });
      expect(viaCloudEvents.status).toBe(422);
      expect(((await viaCloudEvents.json()) as { code: string }).code).toBe(
        'SCHEMA_VALIDATION_FAILED',
      );
      const schemas = await fetch(`${base}schemas/n.counted`);
      expect(schemas.status).toBe(200);
    } finally {
      stop.abort();
    }
    expect(await running).toBe(ExitCode.OK);
    expect(await storedEvents()).toEqual([]);
  });
});
