import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '@causewayjs/cli/internals';
import { openBackend, stackBackend } from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';
import { serving } from '../security/serve-harness.js';
import { cli } from './cli-harness.js';

/** Seeds order-1 (3 events, maxCount 1) and customer-7 (1 event, hard-deleted): 3 hidden. */
async function seed(url: string): Promise<void> {
  const backend = await openBackend(url);
  const { store } = backend;
  await store.append('order-1', [
    { type: 'order.placed', data: { total: 10 } },
    { type: 'order.paid', data: { total: 10 } },
    { type: 'order.shipped', data: {} },
  ]);
  await store.setStreamMetadata('order-1', { maxCount: 1 });
  await store.append('customer-7', [{ type: 'customer.registered', data: { name: 'Ada' } }]);
  await store.deleteStream('customer-7', { hard: true });
  await backend.close();
}

describe('causeway scavenge', () => {
  let dir: string;
  let file: string;
  let url: string;
  const rows = (stream: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db
        .prepare<[string], { n: number }>(
          'SELECT count(*) AS n FROM causeway_events WHERE stream = ?',
        )
        .get(stream)?.n;
    } finally {
      db.close();
    }
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-scavenge-cli-'));
    file = join(dir, 'events.db');
    url = `sqlite:${file}`;
    await seed(url);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--dry-run reports what would go and removes nothing', async () => {
    const run = await cli(['scavenge', '--store', url, '--dry-run', '--json']);
    expect(run.code).toBe(ExitCode.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({
      store: url,
      dryRun: true,
      eventsRemoved: 3,
      streamsScavenged: 2,
    });
    expect(rows('order-1')).toBe(3);
    expect(rows('customer-7')).toBe(1);
  });

  it('removes the hidden events, in batches, and prints a report', async () => {
    const run = await cli(['scavenge', '--store', url, '--batch-size', '1']);
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout).toContain('removed 3 events');
    expect(run.stdout).toContain('from 2 streams, 1 left empty, in 3 batches');
    expect(run.stdout).toContain('cleared the snapshots of 1 deleted streams');
    expect(rows('order-1')).toBe(1);
    expect(rows('customer-7')).toBe(0);
    const again = await cli(['scavenge', '--store', url, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ eventsRemoved: 0, batches: 0 });
  });

  it('refuses a bad batch size with the usage exit code', async () => {
    for (const bad of ['0', '-1', 'many', '100001']) {
      const run = await cli(['scavenge', '--store', url, '--batch-size', bad]);
      expect(run.code, bad).toBe(ExitCode.USAGE);
    }
    expect(rows('order-1')).toBe(3);
  });

  it('stops between batches on an interrupt, with exit code 130', async () => {
    const controller = new AbortController();
    controller.abort();
    const run = await cli(['scavenge', '--store', url], { signal: controller.signal });
    expect(run.code).toBe(ExitCode.INTERRUPTED);
    expect(run.stdout).toContain('interrupted');
    expect(rows('order-1')).toBe(3);
  });
});

describe.skipIf(!(await pgAvailable()))('causeway scavenge on PostgreSQL', () => {
  let schema: string;
  let url: string;
  const rows = async (stream: string) =>
    (
      (await pgExec(`SELECT count(*)::int AS n FROM ${schema}.causeway_events WHERE stream = $1`, [
        stream,
      ])) as { n: number }[]
    )[0]?.n;

  beforeEach(async () => {
    schema = randomSchemaName();
    url = `${pgUrl}?schema=${schema}`;
    await seed(url);
  });
  afterEach(() => dropSchema(schema));

  it('reports on a dry run, then removes the hidden rows in batches', async () => {
    const dry = await cli(['scavenge', '--store', url, '--dry-run', '--json']);
    expect(dry.code).toBe(ExitCode.OK);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, eventsRemoved: 3 });
    expect(await rows('order-1')).toBe(3);
    const run = await cli(['scavenge', '--store', url, '--batch-size', '1', '--json']);
    expect(run.code).toBe(ExitCode.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({
      eventsRemoved: 3,
      streamsScavenged: 2,
      batches: 3,
    });
    expect(await rows('order-1')).toBe(1);
    expect(await rows('customer-7')).toBe(0);
  });
});

const pg = await pgAvailable();
for (const engine of ['sqlite', 'postgres'] as const) {
  describe.skipIf(engine === 'postgres' && !pg)(
    `causeway scavenge on a hash-chained store on ${engine}`,
    () => {
      const signing = generateKeyPairSync('ed25519');
      let dir: string;
      let url: string;
      let publicKeyFile: string;
      let signingKeyFile: string;

      /** order-1: three chained events, the first two hidden by maxCount. */
      const seedChained = async (signed: boolean) => {
        const backend = await openBackend(url);
        const view = await stackBackend(backend, {
          integrity: signed ? { signingKey: signing.privateKey, keyId: 'k1' } : true,
        });
        await view.store.append('order-1', [
          { type: 'order.placed', data: {} },
          { type: 'order.paid', data: {} },
          { type: 'order.shipped', data: {} },
        ]);
        await view.store.setStreamMetadata('order-1', { maxCount: 1 });
        await backend.close();
      };

      let schema: string | undefined;

      beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), 'causeway-scavenge-chained-'));
        schema = engine === 'postgres' ? randomSchemaName() : undefined;
        url = schema ? `${pgUrl}?schema=${schema}` : `sqlite:${join(dir, 'events.db')}`;
        publicKeyFile = join(dir, 'signing-pub.pem');
        signingKeyFile = join(dir, 'signing.pem');
        writeFileSync(publicKeyFile, signing.publicKey.export({ type: 'spki', format: 'pem' }));
        writeFileSync(signingKeyFile, signing.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      });
      afterEach(async () => {
        rmSync(dir, { recursive: true, force: true });
        if (schema) await dropSchema(schema);
      });

      it('moves the chain starts of an anchored store, so verify still passes', async () => {
        await seedChained(false);
        const run = await cli(['scavenge', '--store', url, '--json']);
        expect(run.code).toBe(ExitCode.OK);
        expect(JSON.parse(run.stdout)).toMatchObject({ eventsRemoved: 2 });
        const verify = await cli(['verify', '--store', url, '--require-anchors']);
        expect(verify.stdout).toContain('ok: 1 events in 1 streams verified (1 anchored');
        expect(verify.code).toBe(ExitCode.OK);
      });

      /** POST /admin/scavenge to a `causeway serve` of the store (open access, loopback). */
      const scavengeServed = async (check: (reply: Response) => Promise<void>) => {
        await serving(['--store', url], async (base) => {
          await check(
            await fetch(`${base}admin/scavenge`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{}',
            }),
          );
        });
      };
      /** An error reply's code, whatever the body's shape. */
      const codeOf = (body: { code?: string; error?: { code: string } }) =>
        body.code ?? body.error?.code;

      it('moves them in POST /admin/scavenge of causeway serve too', async () => {
        await seedChained(false);
        await scavengeServed(async (reply) => {
          expect(reply.status).toBe(200);
          expect(await reply.json()).toMatchObject({ eventsRemoved: 2 });
        });
        expect((await cli(['verify', '--store', url, '--require-anchors'])).code).toBe(ExitCode.OK);
      });

      it('answers 501 there for a signed store, whose key causeway serve does not hold', async () => {
        await seedChained(true);
        await scavengeServed(async (reply) => {
          expect(reply.status).toBe(501);
          expect(codeOf((await reply.json()) as never)).toBe('SCAVENGE_UNSUPPORTED');
        });
        const verify = await cli([
          'verify',
          '--store',
          url,
          '--public-key',
          publicKeyFile,
          '--json',
        ]);
        expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, events: 3 });
      });

      it('signs them with --signing-key, and refuses a signed store without it', async () => {
        await seedChained(true);
        const refused = await cli(['scavenge', '--store', url]);
        expect(refused.code).toBe(ExitCode.USAGE);
        expect(refused.stderr).toContain('--signing-key');
        const bad = await cli(['scavenge', '--store', url, '--signing-key', publicKeyFile]);
        expect(bad.code).toBe(ExitCode.USAGE);
        const run = await cli([
          'scavenge',
          '--store',
          url,
          '--signing-key',
          signingKeyFile,
          '--key-id',
          'k1',
          '--json',
        ]);
        expect(run.code).toBe(ExitCode.OK);
        expect(JSON.parse(run.stdout)).toMatchObject({ eventsRemoved: 2 });
        const verify = await cli(['verify', '--store', url, '--public-key', publicKeyFile]);
        expect(verify.stdout).toContain('ok: 1 events in 1 streams verified');
        expect(verify.code).toBe(ExitCode.OK);
      });
    },
  );
}
