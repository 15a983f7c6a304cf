import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CausewayError,
  InvalidArgumentError,
  StoreUnavailableError,
  WrongExpectedRevisionError,
  openEventStore,
  Subscription,
  nack,
  type CausewayErrorCode,
} from '@causewayjs/core';
import { sqliteSubscriptionStorage, type SqliteEventStore } from '@causewayjs/sqlite';
import { ExitCode, exitCodeFor, CliInputError } from '@causewayjs/cli/internals';
import { cli, jsonLines, until } from './cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshStore = () => `sqlite:${join(dir, `store-${++n}.db`)}`;

describe('exit codes', () => {
  it('map error codes to documented exit codes', () => {
    expect(exitCodeFor(new WrongExpectedRevisionError('s', 1, 2))).toBe(ExitCode.CONFLICT);
    expect(exitCodeFor(new StoreUnavailableError('down'))).toBe(ExitCode.STORE_UNAVAILABLE);
    expect(exitCodeFor(new InvalidArgumentError('x', 'bad'))).toBe(ExitCode.USAGE);
    expect(exitCodeFor(new CliInputError('bad line', 3))).toBe(ExitCode.INVALID_DATA);
    // A code the table does not know (an application's own, declared in CausewayErrorCodes).
    const unknownCode = 'SOMETHING_NEW' as CausewayErrorCode;
    expect(exitCodeFor(new CausewayError(unknownCode, 'x'))).toBe(ExitCode.FAILURE);
    expect(exitCodeFor(new Error('plain'))).toBe(ExitCode.FAILURE);
  });
});

describe('append and read', () => {
  it('appends with an expected revision, reads back as text and JSON lines', async () => {
    const store = freshStore();
    const first = await cli([
      'append',
      'order-1',
      'order.placed',
      '{"total":3}',
      '--store',
      store,
      '--expected-revision',
      'no_stream',
      '--json',
    ]);
    expect(first.code).toBe(ExitCode.OK);
    expect(JSON.parse(first.stdout)).toEqual({ stream: 'order-1', revision: 0, position: 1 });
    const second = await cli([
      'append',
      'order-1',
      'order.paid',
      '{"amount":3}',
      '--store',
      store,
      '--metadata',
      '{"correlationId":"r-1"}',
    ]);
    expect(second.stdout).toMatch(/appended order.paid to order-1 at revision 1, position 2/);

    const text = await cli(['read', 'order-1', '--store', store]);
    expect(text.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(text.stdout).toMatch(/order-1 #1 @2 \S+ order.paid \{"amount":3\}/);

    const json = jsonLines(
      (await cli(['read', 'order-1', '--store', store, '--json', '--backward'])).stdout,
    );
    expect(json).toMatchObject([
      { type: 'order.paid', revision: 1, metadata: { correlationId: 'r-1', actor: 'cli' } },
      { type: 'order.placed', revision: 0, data: { total: 3 } },
    ]);
  });

  it('reads the global log with filters, and takes --store before the command too', async () => {
    const store = freshStore();
    await cli(['append', 'order-1', 'order.placed', '{}', '--store', store]);
    await cli(['append', 'cart-1', 'cart.opened', '{}', '--store', store]);
    await cli(['append', 'order-2', 'order.placed', '{}', '--store', store]);
    const run = await cli(['--store', store, 'read', '--prefix', 'order-', '--json']);
    expect(run.code).toBe(ExitCode.OK);
    expect(jsonLines(run.stdout).map((e) => (e as { stream: string }).stream)).toEqual([
      'order-1',
      'order-2',
    ]);
  });

  it('gives each failure its exit code and a clear message', async () => {
    const store = freshStore();
    await cli(['append', 'order-1', 'order.placed', '{}', '--store', store]);
    const conflict = await cli([
      'append',
      'order-1',
      'order.paid',
      '{}',
      '--store',
      store,
      '--expected-revision',
      '5',
    ]);
    expect(conflict.code).toBe(ExitCode.CONFLICT);
    expect(conflict.stderr).toMatch(
      /WRONG_EXPECTED_REVISION: Stream "order-1" expected revision 5 but is at 0/,
    );

    const missing = await cli(['read', 'order-404', '--store', store]);
    expect(missing.code).toBe(ExitCode.NOT_FOUND);

    const badJson = await cli([
      'append',
      'order-1',
      'order.paid',
      '{nope',
      '--store',
      store,
      '--json',
    ]);
    expect(badJson.code).toBe(ExitCode.INVALID_DATA);
    expect(JSON.parse(badJson.stderr)).toMatchObject({
      error: { code: 'CLI_INVALID_INPUT', exitCode: 5 },
    });

    const badStream = await cli(['append', '', 'order.paid', '{}', '--store', store]);
    expect(badStream.code).toBe(ExitCode.INVALID_DATA);

    const badUrl = await cli(['read', 'x', '--store', 'mysql://nope']);
    expect(badUrl.code).toBe(ExitCode.USAGE);
    expect(badUrl.stderr).toMatch(/UNSUPPORTED_STORE_URL/);

    const badOption = await cli(['read', '--limit', 'ten', '--store', store]);
    expect(badOption.code).toBe(ExitCode.USAGE);
    expect((await cli(['frobnicate'])).code).toBe(ExitCode.USAGE);
    expect((await cli(['append', 'only-a-stream'])).code).toBe(ExitCode.USAGE);
  });

  it('reports an unreachable PostgreSQL as store unavailable', async () => {
    const run = await cli(['read', 'x', '--store', 'postgres://nobody@127.0.0.1:1/none']);
    expect(run.code).toBe(ExitCode.STORE_UNAVAILABLE);
    expect(run.stderr).toMatch(/STORE_UNAVAILABLE/);
  });
});

describe('tail', () => {
  it('prints events as they are committed, from now on, until the limit', async () => {
    const url = freshStore();
    await cli(['append', 'old-1', 'old.event', '{}', '--store', url]);
    const tail = cli(['tail', '--store', url, '--type', 'new.event', '--limit', '2', '--json']);
    const store = await openEventStore(url);
    try {
      // The tail starts at the head it finds: keep appending until it has seen two new events.
      let done = false;
      void tail.then(() => (done = true));
      for (let i = 0; !done && i < 10_000; i++) {
        await store.append(`new-${i}`, [{ type: 'new.event', data: { i } }]);
        await store.append(`noise-${i}`, [{ type: 'noise.event', data: { i } }]);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await store.close();
    }
    const run = await tail;
    expect(run.code).toBe(ExitCode.OK);
    const events = jsonLines(run.stdout) as { type: string; stream: string }[];
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.type === 'new.event')).toBe(true);
  });

  it('stops cleanly when interrupted', async () => {
    const url = freshStore();
    expect((await cli(['append', 'order-1', 'order.placed', '{}', '--store', url])).code).toBe(0);
    const controller = new AbortController();
    const tail = cli(['tail', '--store', url], { signal: controller.signal });
    controller.abort();
    expect((await tail).code).toBe(ExitCode.INTERRUPTED);
  });
});

describe('parked events', () => {
  it("lists, retries and skips a subscription's parked events", async () => {
    const url = freshStore();
    const store = (await openEventStore(url)) as SqliteEventStore;
    const storage = await sqliteSubscriptionStorage(store);
    for (let i = 1; i <= 3; i++)
      await store.append(`job-${i}`, [{ type: 'job.queued', data: { i } }]);
    let failing = true;
    const handled: number[] = [];
    const subscription = new Subscription({
      name: 'jobs',
      storage,
      handler: (event) => {
        if (failing) return nack.park('not yet');
        handled.push(event.position);
      },
    });
    await subscription.start();
    await subscription.waitForPosition(3, { timeoutMs: 5000 });
    await subscription.stop();
    try {
      const all = await cli(['parked', 'list', '--store', url, '--json']);
      expect(JSON.parse(all.stdout)).toEqual([{ subscription: 'jobs', parked: 3 }]);
      const list = await cli(['parked', 'list', 'jobs', '--store', url, '--json']);
      expect((JSON.parse(list.stdout) as { position: number }[]).map((p) => p.position)).toEqual([
        1, 2, 3,
      ]);

      const skip = await cli(['parked', 'skip', 'jobs', '2', '--store', url]);
      expect(skip.code).toBe(ExitCode.OK);
      expect(await storage.parked.count('jobs')).toBe(2);
      const again = await cli(['parked', 'skip', 'jobs', '2', '--store', url]);
      expect(again.code).toBe(ExitCode.NOT_FOUND);
      expect((await cli(['parked', 'retry', 'jobs', '--store', url])).code).toBe(ExitCode.USAGE);

      const retry = await cli(['parked', 'retry', 'jobs', '--all', '--store', url, '--json']);
      expect(JSON.parse(retry.stdout)).toEqual({ subscription: 'jobs', action: 'retry', count: 2 });
      expect((await storage.parked.list('jobs', { retryRequested: true })).length).toBe(2);

      // The subscription, started again, retries them: now they succeed.
      failing = false;
      await subscription.start();
      await until(async () => (await storage.parked.count('jobs')) === 0, 'the retried events');
      expect(await storage.parked.count('jobs')).toBe(0);
      expect(handled.sort()).toEqual([1, 3]);
    } finally {
      await subscription.stop();
      await store.close();
    }
  });
});

describe('stats and schemas', () => {
  it('counts events by type and category', async () => {
    const url = freshStore();
    await cli(['append', 'order-1', 'order.placed', '{}', '--store', url]);
    await cli(['append', 'order-2', 'order.placed', '{}', '--store', url]);
    await cli(['append', 'cart-1', 'cart.opened', '{}', '--store', url]);
    const run = await cli(['stats', '--store', url, '--json']);
    expect(JSON.parse(run.stdout)).toMatchObject({
      headPosition: 3,
      events: 3,
      streams: 3,
      types: [
        { type: 'order.placed', events: 2 },
        { type: 'cart.opened', events: 1 },
      ],
      categories: [
        { category: 'order', streams: 2, events: 2 },
        { category: 'cart', streams: 1, events: 1 },
      ],
    });
  });

  it('registers, lists and checks schemas, refusing a breaking change with exit 3', async () => {
    const url = freshStore();
    const v1 = JSON.stringify({
      type: 'object',
      properties: { total: { type: 'number' } },
      required: ['total'],
    });
    const reg = await cli(['schema', 'register', 'order.placed', v1, '--store', url, '--json']);
    expect(reg.code).toBe(ExitCode.OK);
    expect(JSON.parse(reg.stdout)).toMatchObject({ type: 'order.placed', version: 1 });
    const list = await cli(['schema', 'list', '--store', url, '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject([{ type: 'order.placed', version: 1 }]);

    const breaking = JSON.stringify({
      type: 'object',
      properties: { total: { type: 'number' }, currency: { type: 'string' } },
      required: ['total', 'currency'],
    });
    const check = await cli(['schema', 'check', 'order.placed', breaking, '--store', url]);
    expect(check.code).toBe(ExitCode.CONFLICT);
    expect(check.stdout).toMatch(/incompatible \(backward\)/);
    expect((await cli(['schema', 'register', 'order.placed', breaking, '--store', url])).code).toBe(
      ExitCode.CONFLICT,
    );
    expect((await cli(['schema', 'check', 'order.placed', v1, '--store', url])).code).toBe(
      ExitCode.OK,
    );
    expect((await cli(['schema', 'register', 'x.y', '{not json', '--store', url])).code).toBe(
      ExitCode.INVALID_DATA,
    );
  });
});
