import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '@causewayjs/core';
import { Writable } from 'node:stream';
import { type CliIo, cliExtensions, runCli } from '@causewayjs/cli/internals';
import { cli } from './cli-harness.js';

describe('causeway serve --security and verify, through the CLI program', () => {
  let dir: string;
  let store: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-cli-security-'));
    store = `sqlite:${join(dir, 'events.db')}`;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `causeway serve` on the test's store with `flags` while `work` uses its address. */
  async function serving(
    flags: readonly string[],
    work: (base: string) => Promise<void>,
  ): Promise<void> {
    const stop = new AbortController();
    let printed = '';
    let listening: (url: string) => void = () => undefined;
    const address = new Promise<string>((resolve) => (listening = resolve));
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        printed += chunk.toString();
        const line = printed.split('\n').find((l) => l.includes('"listening"'));
        if (line) listening((JSON.parse(line) as { url: string }).url);
        done();
      },
    });
    const io: CliIo = {
      stdout,
      stderr: new Writable({ write: (_c, _e, done) => done() }),
      interactive: false,
      env: {},
      signal: stop.signal,
    };
    const running = runCli(
      ['serve', '--store', store, '--port', '0', '--json', ...flags],
      io,
      cliExtensions(io),
    );
    try {
      await work(
        await Promise.race([
          address,
          running.then((code) => Promise.reject(new Error(`serve exited with ${code}`))),
        ]),
      );
    } finally {
      stop.abort();
    }
    expect(await running).toBe(0);
  }

  it('serves with the access rules of the security file: anonymous refused, a key let in', async () => {
    const writer = generateApiKey('writer');
    const config = join(dir, 'security.json');
    writeFileSync(
      config,
      JSON.stringify({
        apiKeys: [{ id: writer.id, hash: writer.hash, roles: ['writer'] }],
        rules: [{ roles: ['writer'], prefix: 'order-', allow: ['read', 'write'] }],
      }),
    );
    await serving(['--security', config], async (base) => {
      const body = JSON.stringify({ events: [{ type: 'order.placed', data: {} }] });
      const headers = { 'content-type': 'application/json' };
      const anonymous = await fetch(`${base}streams/order-1`, { method: 'POST', headers, body });
      expect(anonymous.status).toBe(401);
      const keyed = await fetch(`${base}streams/order-1`, {
        method: 'POST',
        headers: { ...headers, 'x-api-key': writer.key },
        body,
      });
      expect(keyed.status).toBe(201);
      const elsewhere = await fetch(`${base}streams/cart-1`, {
        method: 'POST',
        headers: { ...headers, 'x-api-key': writer.key },
        body,
      });
      expect(elsewhere.status).toBe(403);
    });
  });

  it('serves the parked saga commands of the store', async () => {
    await serving([], async (base) => {
      const parked = await fetch(`${base}saga-commands/parked`);
      expect(parked.status).toBe(200);
      expect(await parked.json()).toMatchObject({ commands: [] });
    });
  });

  it('runs verify as a command of the program', async () => {
    expect((await cli(['append', 'order-1', 'order.placed', '{}', '--store', store])).code).toBe(0);
    const run = await cli(['verify', '--store', store, '--json', '--require-chain']);
    // With --require-chain, events written without a hash chain are a fault, naming the
    // stream: verify is wired.
    const report = JSON.parse(run.stdout) as { ok: boolean; broken?: { stream: string } };
    expect(report.ok).toBe(false);
    expect(run.code).toBe(5);
    expect(report.broken?.stream).toBe('order-1');
  });
});
