import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '@causewayjs/cli/internals';
import { cli, jsonLines } from './cli-harness.js';

const root = mkdtempSync(join(tmpdir(), 'causeway-cli-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A project folder holding `files` (name → text). */
function project(files: Record<string, string>): string {
  const dir = join(root, `project-${++n}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * A TypeScript config with a projection (order totals, as documents), a saga and a schema.
 * It imports only types, so it loads without the packages installed beside it.
 */
const configText = (store: string) => `
import type { CausewayConfig } from '@causewayjs/cli';

interface Totals { orders: number; total: number }

const config: CausewayConfig = {
  store: ${JSON.stringify(store)},
  projections: [
    {
      name: 'order-totals',
      version: 1,
      handles: ['order.placed'],
      setup: () => undefined,
      apply: async (event, rm: { documents<T>(name: string): { get(id: string): Promise<T | undefined>; put(id: string, doc: T): Promise<void> } }) => {
        const totals = rm.documents<Totals>('totals');
        const now = (await totals.get('all')) ?? { orders: 0, total: 0 };
        const { total } = event.data as { total: number };
        await totals.put('all', { orders: now.orders + 1, total: now.total + total });
      },
    },
  ],
  sagas: [
    {
      name: 'fulfil',
      startsWith: ['order.placed'],
      handles: ['order.paid'],
      correlate: (event) => event.stream,
      initialStep: 'paying',
      start: () => ({ state: {} }),
    },
  ],
  schemas: [
    {
      type: 'order.placed',
      schema: {
        type: 'object',
        properties: { total: { type: 'number' } },
        required: ['total'],
      },
    },
  ],
};
export default config;
`;

const json = <T>(text: string): T => JSON.parse(text) as T;

describe('a project with causeway.config.ts', () => {
  const store = join(root, 'shared-data', 'events.db');
  const dir = project({ 'causeway.config.ts': configText(`sqlite:${store}`) });
  const inProject = { cwd: dir };

  it("registers the config's schemas, then appends are validated against them", async () => {
    const register = await cli(['schema', 'register', '--json'], inProject);
    expect(register.stderr).toBe('');
    expect(register.code).toBe(ExitCode.OK);
    expect(json<{ type: string; version: number }[]>(register.stdout)).toMatchObject([
      { type: 'order.placed', version: 1 },
    ]);
    // The store is the config's: no --store given.
    expect(existsSync(store)).toBe(true);
    // Registering again keeps the version.
    const again = await cli(['schema', 'register', '--json'], inProject);
    expect(json<{ version: number }[]>(again.stdout)[0]?.version).toBe(1);
    const refused = await cli(['append', 'order-1', 'order.placed', '{"total":"ten"}'], inProject);
    expect(refused.code).toBe(ExitCode.INVALID_DATA);
    for (const [stream, total] of [
      ['order-1', 10],
      ['order-2', 32],
    ] as const)
      expect(
        (await cli(['append', stream, 'order.placed', JSON.stringify({ total })], inProject)).code,
      ).toBe(ExitCode.OK);
  });

  it("reports, rebuilds and reports again the user's projection", async () => {
    const before = await cli(['projections', 'status', '--json'], inProject);
    expect(before.code).toBe(ExitCode.OK);
    expect(json<unknown[]>(before.stdout)).toEqual([
      expect.objectContaining({ name: 'order-totals', version: 1, state: 'not built' }),
    ]);
    const listed = await cli(['projections', 'list', '--json'], inProject);
    expect(json<{ name: string; status: string }[]>(listed.stdout)).toEqual([
      expect.objectContaining({ name: 'order-totals', status: 'not built' }),
    ]);

    const rebuild = await cli(['rebuild', 'order-totals', '--json'], inProject);
    expect(rebuild.stderr).toBe('');
    expect(rebuild.code).toBe(ExitCode.OK);
    const summary = json<{ name: string; position: number; build: number }>(rebuild.stdout);
    expect(summary).toMatchObject({ name: 'order-totals', version: 1 });

    const head = json<{ headPosition: number }>(
      (await cli(['stats', '--json'], inProject)).stdout,
    ).headPosition;
    expect(summary.position).toBe(head);
    const after = await cli(['projections', 'status', 'order-totals', '--json'], inProject);
    expect(json<unknown[]>(after.stdout)).toEqual([
      expect.objectContaining({
        name: 'order-totals',
        state: 'serving',
        serving: { version: 1, build: summary.build },
        position: head,
        lag: 0,
      }),
    ]);
    // `projections rebuild` is the same command.
    const second = await cli(['projections', 'rebuild', 'order-totals', '--json'], inProject);
    expect(json<{ build: number }>(second.stdout).build).toBe(summary.build + 1);
  });

  it('names a projection or saga the config does not define as not found', async () => {
    const rebuild = await cli(['rebuild', 'order-history', '--json'], inProject);
    expect(rebuild.code).toBe(ExitCode.NOT_FOUND);
    expect(json<{ error: { code: string } }>(rebuild.stderr).error.code).toBe('CLI_NOT_FOUND');
    const saga = await cli(['sagas', 'status', 'nope'], inProject);
    expect(saga.code).toBe(ExitCode.NOT_FOUND);
  });

  it("reports the user's sagas", async () => {
    const run = await cli(['sagas', 'status', '--json'], inProject);
    expect(run.code).toBe(ExitCode.OK);
    expect(json<unknown[]>(run.stdout)).toEqual([
      expect.objectContaining({
        name: 'fulfil',
        startsWith: ['order.placed'],
        handles: ['order.paid'],
        subscription: 'saga:fulfil',
        position: 0,
        lag: 2,
      }),
    ]);
  });

  it('takes --store, then CAUSEWAY_STORE, over the config store', async () => {
    const other = `sqlite:${join(root, 'other.db')}`;
    expect(
      (await cli(['append', 'x-1', 'x.happened', '{}', '--store', other], inProject)).code,
    ).toBe(ExitCode.OK);
    const viaFlag = await cli(['read', '--json', '--store', other], inProject);
    expect(jsonLines(viaFlag.stdout)).toHaveLength(1);
    const viaEnv = await cli(['read', '--json'], { ...inProject, env: { CAUSEWAY_STORE: other } });
    expect(jsonLines(viaEnv.stdout)).toHaveLength(1);
    const viaConfig = await cli(['read', '--json'], inProject);
    expect(jsonLines(viaConfig.stdout)).toHaveLength(2);
  });

  it('is found through --config and CAUSEWAY_CONFIG from another directory', async () => {
    const elsewhere = project({});
    const path = join(dir, 'causeway.config.ts');
    const viaFlag = await cli(['projections', 'status', '--json', '--config', path], {
      cwd: elsewhere,
    });
    expect(json<{ name: string }[]>(viaFlag.stdout)[0]?.name).toBe('order-totals');
    const before = await cli(['--config', path, 'sagas', 'status', '--json'], { cwd: elsewhere });
    expect(json<{ name: string }[]>(before.stdout)[0]?.name).toBe('fulfil');
    const viaEnv = await cli(['sagas', 'status', '--json'], {
      cwd: elsewhere,
      env: { CAUSEWAY_CONFIG: path },
    });
    expect(json<{ name: string }[]>(viaEnv.stdout)[0]?.name).toBe('fulfil');
  });

  it("serves the config's projections and sagas", async () => {
    const controller = new AbortController();
    let listening: (url: string) => void = () => undefined;
    const address = new Promise<string>((resolve) => (listening = resolve));
    const serving = cli(['serve', '--port', '0', '--json'], {
      ...inProject,
      signal: controller.signal,
      onStdout: (text) => {
        const line = text.split('\n')[0];
        if (text.includes('\n') && line) listening((JSON.parse(line) as { url: string }).url);
      },
    });
    try {
      const base = await Promise.race([
        address,
        serving.then((run) => Promise.reject(new Error(`serve ended: ${run.stderr}`))),
      ]);
      const projections = (await (await fetch(`${base}projections`)).json()) as {
        projections: { name: string }[];
      };
      expect(projections.projections.map((p) => p.name)).toEqual(['order-totals']);
      const parked = (await (await fetch(`${base}parked`)).json()) as {
        sources: { name: string }[];
      };
      expect(parked.sources.map((s) => s.name)).toContain('saga:fulfil');
    } finally {
      controller.abort();
    }
    expect((await serving).code).toBe(ExitCode.OK);
  });
});

describe('bad config files', () => {
  it('--config naming a missing file is CLI_CONFIG_NOT_FOUND (exit 2)', async () => {
    const dir = project({});
    for (const run of [
      await cli(['read', '--json', '--config', 'missing.config.ts'], { cwd: dir }),
      await cli(['read', '--json'], { cwd: dir, env: { CAUSEWAY_CONFIG: 'gone.ts' } }),
    ]) {
      expect(run.code).toBe(ExitCode.NOT_FOUND);
      expect(json<{ error: { code: string } }>(run.stderr).error.code).toBe('CLI_CONFIG_NOT_FOUND');
    }
  });

  it.each([
    [
      'a projection without version',
      'export default { projections: [{ name: "p", handles: [], setup() {}, apply() {} }] };',
      'projections[0].version',
    ],
    ['an unknown key', 'export default { stores: "sqlite:x.db" };', 'stores'],
    ['no default export', 'export const store = "memory:";', 'no default export'],
    ['a config that throws', 'throw new Error("boom in config");', 'boom in config'],
    ['a config that does not compile', 'export default { store: ', 'could not be loaded'],
    [
      'a saga without correlate',
      'export default { sagas: [{ name: "s", startsWith: ["a"], handles: [], initialStep: "x", start() { return { state: 1 }; } }] };',
      'correlate must be a function',
    ],
  ])('%s is CLI_CONFIG_INVALID (exit 5)', async (_what, text, mentioned) => {
    const dir = project({ 'causeway.config.ts': text });
    const run = await cli(['projections', 'status', '--json'], { cwd: dir });
    expect(run.code).toBe(ExitCode.INVALID_DATA);
    const error = json<{ error: { code: string; message: string } }>(run.stderr).error;
    expect(error.code).toBe('CLI_CONFIG_INVALID');
    expect(error.message).toContain(mentioned);
  });

  it('loads a JavaScript config with import()', async () => {
    const store = `sqlite:${join(root, 'js-config.db')}`;
    const dir = project({
      'causeway.config.mjs': `export default { store: ${JSON.stringify(store)}, sagas: [] };`,
    });
    expect((await cli(['append', 'a-1', 'a.b', '{}'], { cwd: dir })).code).toBe(ExitCode.OK);
    expect(existsSync(store.slice('sqlite:'.length))).toBe(true);
  });
});
