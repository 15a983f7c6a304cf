import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { type CliIo, ExitCode, runCli, verifyExtension } from '@causewayjs/cli/internals';
import { integrityEventStore } from '@causewayjs/core';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function verify(argv: string[]) {
  const stdout = new Sink();
  const stderr = new Sink();
  const io: CliIo = {
    stdout,
    stderr,
    interactive: false,
    env: {},
    signal: new AbortController().signal,
  };
  const code = await runCli(['verify', ...argv], io, [verifyExtension(io)]);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('causeway verify', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-verify-cli-'));
    file = join(dir, 'events.db');
    const raw = SqliteEventStore.open(file);
    const store = integrityEventStore(raw);
    await store.append('order-1', [
      { type: 'order.placed', data: { total: 10 } },
      { type: 'order.paid', data: { total: 10 } },
    ]);
    await store.append('order-2', [{ type: 'order.placed', data: { total: 5 } }]);
    await raw.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports intact chains with exit code 0, as text and JSON', async () => {
    const text = await verify(['--store', `sqlite:${file}`]);
    expect(text.code).toBe(ExitCode.OK);
    expect(text.stdout).toContain('ok: 3 events in 2 streams verified');
    const json = await verify(['order-2', '--store', `sqlite:${file}`, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: true,
      streams: 1,
      events: 1,
      lastPosition: 3,
      // Written without a chain anchor store: verified by the chain alone.
      anchored: 0,
      unanchored: 1,
    });
  });

  it('reports the first broken link with a non-zero exit code', async () => {
    const db = new Database(file);
    db.prepare(
      `UPDATE causeway_events SET data = '{"total":1000}' WHERE stream = 'order-1' AND revision = 1`,
    ).run();
    db.close();
    const json = await verify(['--store', `sqlite:${file}`, '--json']);
    expect(json.code).toBe(ExitCode.INVALID_DATA);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      broken: { stream: 'order-1', revision: 1, position: 2, reason: 'hash-mismatch' },
    });
    const text = await verify(['--store', `sqlite:${file}`]);
    expect(text.code).not.toBe(ExitCode.OK);
    expect(text.stdout).toContain('BROKEN: stream "order-1" revision 1 (position 2');
    // The intact stream alone still verifies.
    expect((await verify(['order-2', '--store', `sqlite:${file}`])).code).toBe(ExitCode.OK);
  });

  it('refuses a missing public key file as a usage error', async () => {
    const run = await verify(['--store', `sqlite:${file}`, '--public-key', join(dir, 'nope.pem')]);
    expect(run.code).toBe(ExitCode.USAGE);
  });
});
