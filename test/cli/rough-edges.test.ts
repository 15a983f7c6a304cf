import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStoreContext } from '@causewayjs/cli';
import { ExitCode, storeStats, type CliIo } from '@causewayjs/cli/internals';
import { cli } from './cli-harness.js';
import { mqttAvailable, mqttUrl } from '../support/mqtt.js';
import { Writable } from 'node:stream';

const dir = mkdtempSync(join(tmpdir(), 'causeway-cli-edges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshStore = () => `sqlite:${join(dir, `store-${++n}.db`)}`;
const errorOf = (text: string) =>
  (JSON.parse(text) as { error: { code: string; message: string; exitCode: number } }).error;

describe('a read never creates a store', () => {
  it.each([['read'], ['stats'], ['tail'], ['export'], ['verify'], ['projections', 'list']])(
    '%s on a store in a missing directory says it does not exist (exit 2)',
    async (...command) => {
      const missing = join(dir, `missing-${++n}`, 'events.db');
      const run = await cli([...command, '--store', `sqlite:${missing}`, '--json']);
      expect(run.code).toBe(ExitCode.NOT_FOUND);
      expect(errorOf(run.stderr)).toMatchObject({ code: 'CLI_NOT_FOUND', exitCode: 2 });
      expect(errorOf(run.stderr).message).toMatch(/does not exist/);
      expect(existsSync(join(missing, '..'))).toBe(false);
    },
  );
});

describe('--json errors', () => {
  it('read of a missing stream answers the JSON error object, and only it', async () => {
    const store = freshStore();
    await cli(['append', 'a-1', 'a.b', '{}', '--store', store]);
    const run = await cli(['read', 'nope-1', '--store', store, '--json']);
    expect(run.code).toBe(ExitCode.NOT_FOUND);
    expect(run.stdout).toBe('');
    expect(errorOf(run.stderr)).toMatchObject({ code: 'CLI_NOT_FOUND', exitCode: 2 });
  });

  it('a command line commander refuses is the JSON error object too', async () => {
    const run = await cli(['read', '--no-such-option', '--json']);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(errorOf(run.stderr)).toMatchObject({ code: 'CLI_USAGE', exitCode: 1 });
  });
});

const mqtt = await mqttAvailable();

describe('a command that listens, on a port in use', () => {
  const commands: [string, () => string[]][] = [
    ['serve', () => ['serve', '--store', freshStore()]],
    ['demo', () => ['demo', '--store', freshStore(), '--orders', '1']],
  ];
  // `sensors` connects to the broker before it listens.
  if (mqtt)
    commands.push([
      'sensors',
      () => ['sensors', '--store', freshStore(), '--sensors', '0', '--mqtt', mqttUrl],
    ]);
  it.each(commands)('%s exits with CLI_PORT_IN_USE, suggesting --port', async (_, args) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = await cli([...args(), '--port', String(port), '--json']);
      expect(run.code).toBe(ExitCode.PORT_IN_USE);
      const error = errorOf(run.stderr.slice(run.stderr.indexOf('{\n')));
      expect(error.code).toBe('CLI_PORT_IN_USE');
      expect(error.message).toContain('--port');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('stats', () => {
  it('never reports a subscription beyond the head it reports', async () => {
    const url = freshStore();
    const context = await openStoreContext(url);
    try {
      await context.store.append('a-1', [{ type: 'a.b', data: {} }]);
      const storage = await context.subscriptionStorage();
      await storage.checkpoints.save('worker', 1);
      // A writer that appends and checkpoints while the scan runs (as it reaches the end).
      const store = context.store;
      const racing = new Proxy(store, {
        get(target, property) {
          if (property === 'readAll')
            return async function* (...a: Parameters<typeof store.readAll>) {
              yield* target.readAll(...a);
              const { position } = await target.append('a-2', [{ type: 'a.b', data: {} }]);
              await storage.checkpoints.save('worker', position);
            };
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
      const sink = new Writable({ write: (_c, _e, done) => done() });
      const io: CliIo = {
        stdout: sink,
        stderr: sink,
        interactive: false,
        env: {},
        signal: new AbortController().signal,
      };
      const view = new Proxy(context, {
        get(target, property) {
          if (property === 'store') return racing;
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
      const stats = await storeStats(view, io, { json: true });
      for (const s of stats.subscriptions)
        expect(s.position).toBeLessThanOrEqual(stats.headPosition);
      expect(stats.events).toBeLessThanOrEqual(stats.headPosition);
    } finally {
      await context.close();
    }
  });
});

describe('verify and chains', () => {
  it('reports streams written without chains as unchained, and succeeds', async () => {
    const store = freshStore();
    await cli(['append', 'order-1', 'order.placed', '{}', '--store', store]);
    const run = await cli(['verify', '--store', store, '--json']);
    expect(run.code).toBe(ExitCode.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      unchained: 1,
      unchainedStreams: ['order-1'],
    });
    const text = await cli(['verify', '--store', store]);
    expect(text.stdout).not.toMatch(/BROKEN/);
    expect(text.stdout).toMatch(/unchained: 1 stream/);
    const required = await cli(['verify', '--store', store, '--require-chain']);
    expect(required.code).toBe(ExitCode.INVALID_DATA);
    expect(required.stdout).toMatch(/BROKEN: .*missing-integrity/);
  });

  it('append --chain writes chained events that verify checks', async () => {
    const store = freshStore();
    for (const total of [1, 2])
      expect(
        (
          await cli([
            'append',
            'order-1',
            'order.placed',
            JSON.stringify({ total }),
            '--chain',
            '--store',
            store,
          ])
        ).code,
      ).toBe(ExitCode.OK);
    await cli(['append', 'cart-1', 'cart.opened', '{}', '--store', store]);
    const run = await cli(['verify', '--store', store, '--json', '--require-anchors']);
    expect(run.code).toBe(ExitCode.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      events: 2,
      streams: 1,
      anchored: 1,
      unchained: 1,
      unchainedStreams: ['cart-1'],
    });
    // An unchained event appended to the chained stream is still a fault.
    await cli(['append', 'order-1', 'order.paid', '{}', '--store', store]);
    const broken = await cli(['verify', '--store', store, '--json']);
    expect(broken.code).toBe(ExitCode.INVALID_DATA);
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      broken: { stream: 'order-1', revision: 2, reason: 'missing-integrity' },
    });
  });
});

describe('causeway --help', () => {
  it('loads commander and the command declarations only: no core, driver, server or config loader', () => {
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      // Answers "flush" after every url it has sent: messages on a port arrive in order.
      'let port; export async function initialize(data) { port = data.port; port.on("message", () => port.postMessage("done")); port.unref(); }\n' +
        'export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }\n',
    );
    const script = `
      import { register } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const { port1, port2 } = new MessageChannel();
      const seen = [];
      let flushed;
      const done = new Promise((resolve) => (flushed = resolve));
      port1.on('message', (url) => (url === 'done' ? flushed() : seen.push(url)));
      register(${JSON.stringify(`file://${hooks}`)}, { data: { port: port2 }, transferList: [port2] });
      const { runCli } = await import('./packages/cli/src/program.ts');
      const { cliExtensions } = await import('./packages/cli/src/cli-extensions.ts');
      const { Writable } = await import('node:stream');
      const sink = new Writable({ write: (_c, _e, done) => done() });
      const io = { stdout: sink, stderr: sink, interactive: false, env: {}, signal: new AbortController().signal };
      const code = await runCli(['--help'], io, cliExtensions(io));
      port1.postMessage('flush');
      await done;
      port1.close();
      console.log(JSON.stringify({ code, seen }));
    `;
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: new URL('../..', import.meta.url), encoding: 'utf8' },
    );
    const { code, seen } = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      code: number;
      seen: string[];
    };
    expect(code).toBe(0);
    // The hook saw the modules loaded: the program's own at least.
    expect(seen.some((url) => url.endsWith('/packages/cli/src/program.ts'))).toBe(true);
    const heavy = seen.filter((url) =>
      /\/packages\/(core|server|sqlite|postgres)\/|node_modules\/(fastify|better-sqlite3|pg|zod|jiti|pino)\//.test(
        url,
      ),
    );
    expect(heavy).toEqual([]);
  });
});
