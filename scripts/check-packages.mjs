// Packaging checks of the @causewayjs family, as a user installs it.
//
//   node scripts/check-packages.mjs [--skip-build] [--no-smoke] [--keep]
//
// 1. Builds every workspace (`npm run build`) and packs each one (`npm pack`) once.
// 2. Lints every tarball: its contents (README, LICENSE, no tests or sources), publint
//    (strict) and arethetypeswrong (strict profile: node10, node16 from CJS and ESM, bundler).
// 3. Checks the repository's lockfile: no engine range a Node.js the root `engines` allows
//    fails (`npm ci --dry-run` must print no EBADENGINE), no `sqlite3`, no Emmett packages.
// 4. Consumer smoke test, in a project outside the repository: installs the tarballs with
//    `--omit=dev`, checks the installed tree (and that core + postgres alone pull no SQLite
//    driver), imports the core from ESM and from CommonJS, opens a SQLite and a PostgreSQL
//    store (CAUSEWAY_PG_URL, in a throwaway schema), runs the installed `causeway` bin
//    (`--help`, then `demo --orders 5`), then installs TypeScript and @types/node as the
//    consumer's dev tools and type-checks a consumer with `skipLibCheck: false` under
//    node16, nodenext and bundler resolution.
//
// One line per step with its time; the first failing step prints its output and the script
// exits 1. The temporary projects are removed unless --keep (or a step failed).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const skipBuild = args.has('--skip-build');
const smoke = !args.has('--no-smoke');
const keep = args.has('--keep');
const pgUrl = process.env.CAUSEWAY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// The repository's own copies of the tools (devDependencies of the workspace root).
const requireFromRoot = createRequire(join(root, 'package.json'));
const semver = requireFromRoot('semver');
const { publint } = await import(requireFromRoot.resolve('publint'));
const { formatMessage } = await import(requireFromRoot.resolve('publint/utils'));
const attwBin = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');

const rootPkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8'));
/** The oldest Node.js the root `engines` allows, e.g. 20.19.0. */
const minNode = semver.minVersion(rootPkg.engines.node).version;

/** A step's failure, with what it printed. */
class StepFailure extends Error {
  constructor(message, output = '') {
    super(message);
    this.output = output;
  }
}

/**
 * Runs `command` and resolves with its output (stdout and stderr interleaved); rejects with
 * a StepFailure holding the output when it exits non-zero, is killed, or outlasts `timeout`.
 */
function run(
  command,
  argv,
  { cwd = root, env = {}, timeout = 300_000, allowFailure = false } = {},
) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new StepFailure(`${command}: ${error.message}`, output));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = `${command} ${argv.join(' ')}`;
      if (signal !== null)
        reject(
          new StepFailure(`${line}: killed (${signal}) after ${timeout / 1000} s or less`, output),
        );
      else if (code !== 0 && !allowFailure)
        reject(new StepFailure(`${line}: exit ${code}`, output));
      else resolve({ code, output });
    });
  });
}

const npm = (argv, options) => run('npm', argv, options);
const started = performance.now();
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1).padStart(6)}s`;

/** Names of the failed checks that did not stop the script. */
const failures = [];

/**
 * Runs one step, printing `ok`/`FAIL`, its time and its note. A failure ends the script,
 * unless `independent` (nothing after depends on it): then it is recorded and the script goes on.
 */
async function step(name, body, { independent = false } = {}) {
  const at = performance.now();
  try {
    const note = await body();
    process.stdout.write(`ok   ${seconds(at)}  ${name}${note ? `: ${note}` : ''}\n`);
    return note;
  } catch (error) {
    process.stdout.write(`FAIL ${seconds(at)}  ${name}\n`);
    if (error instanceof StepFailure) {
      process.stdout.write(`  ${error.message}\n`);
      if (error.output.trim() !== '') process.stdout.write(`${indent(error.output.trimEnd())}\n`);
    } else process.stdout.write(`${indent(error?.stack ?? String(error))}\n`);
    if (!independent) throw new Aborted();
    failures.push(name);
    return undefined;
  }
}
class Aborted extends Error {}
const indent = (text) => text.replace(/^/gm, '  | ');

/** The names of the packages in a package-lock's `packages` (node_modules/a/node_modules/b → b). */
const lockedNames = (packages) =>
  Object.keys(packages)
    .filter((key) => key.includes('node_modules/'))
    .map((key) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));

/** Packages that must never be part of a default install: the Emmett benchmark peers. */
const forbidden = (name) => name === 'sqlite3' || name.startsWith('@event-driven-io/');

const work = await mkdtemp(join(tmpdir(), 'causeway-packages-'));
const tarballs = join(work, 'tarballs');
let failed = false;

try {
  if (!skipBuild)
    await step('build (npm run build)', async () => void (await npm(['run', 'build'])));

  /** name → { file (absolute tarball path), files (packed paths), dir } */
  const packed = new Map();
  await step('pack every workspace (npm pack)', async () => {
    await mkdir(tarballs, { recursive: true });
    const { output } = await npm(
      ['pack', '--workspaces', '--json', '--pack-destination', tarballs],
      {
        env: { npm_config_loglevel: 'error' },
      },
    );
    const list = JSON.parse(output.slice(output.indexOf('[')));
    for (const entry of list) {
      packed.set(entry.name, {
        file: join(tarballs, entry.filename),
        files: entry.files.map((f) => f.path),
        size: entry.size,
      });
    }
    const missing = [];
    for (const ws of rootPkg.workspaces) {
      const { name } = JSON.parse(await readFile(join(root, ws, 'package.json'), 'utf8'));
      if (!packed.has(name)) missing.push(name);
      else packed.get(name).dir = ws;
    }
    if (missing.length > 0) throw new StepFailure(`not packed: ${missing.join(', ')}`, output);
    const kb = [...packed.values()].reduce((sum, p) => sum + p.size, 0) / 1024;
    return `${packed.size} tarballs, ${kb.toFixed(0)} kB`;
  });

  // Lint every tarball; report every package's problems before stopping.
  const lintFailures = [];
  for (const [name, pkg] of packed) {
    const at = performance.now();
    const problems = [];
    // Contents: what a user downloads.
    for (const required of ['package/README.md', 'package/LICENSE', 'package/package.json'])
      if (!pkg.files.includes(required.slice('package/'.length)))
        problems.push(`tarball lacks ${required}`);
    for (const file of pkg.files)
      if (/\.test\.|\.tsbuildinfo$|^src\/|^(?!dist\/).*\.ts$/.test(file))
        problems.push(`tarball ships ${file}`);
    // publint, strict: its warnings are errors.
    const tarball = await readFile(pkg.file);
    const { messages, pkg: manifest } = await publint({
      strict: true,
      pack: {
        tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength),
      },
    });
    for (const message of messages)
      problems.push(`publint ${message.type}: ${formatMessage(message, manifest) ?? message.code}`);
    // arethetypeswrong, default (strict) profile, on the same tarball.
    const attw = await run(
      process.execPath,
      [attwBin, pkg.file, '--format', 'ascii', '--no-emoji', '--no-color'],
      {
        allowFailure: true,
        timeout: 120_000,
      },
    );
    if (attw.code !== 0) problems.push(`arethetypeswrong:\n${attw.output.trim()}`);
    const mark = problems.length === 0 ? 'ok  ' : 'FAIL';
    process.stdout.write(
      `${mark} ${seconds(at)}  lint ${name} (contents, publint --strict, attw)\n`,
    );
    if (problems.length > 0) {
      process.stdout.write(`${indent(problems.join('\n'))}\n`);
      lintFailures.push(name);
    }
  }
  if (lintFailures.length > 0) failures.push(`lint of ${lintFailures.join(', ')}`);

  await step(
    `repository lockfile: engines allow Node ${minNode}, no sqlite3 or Emmett`,
    async () => {
      const problems = [];
      for (const [key, entry] of Object.entries(lock.packages)) {
        if (key === '' || !key.includes('node_modules/')) continue;
        const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
        if (forbidden(name))
          problems.push(`${key} is installed by npm ci (an opt-in bench peer only)`);
        // npm skips optional packages whose engines or platform do not fit, silently.
        const range = entry.engines?.node;
        if (range === undefined || entry.optional) continue;
        for (const version of [minNode, process.versions.node])
          if (!semver.satisfies(version, range))
            problems.push(`${name}@${entry.version} wants node ${range}: not ${version}`);
      }
      if (problems.length > 0)
        throw new StepFailure('lockfile problems', [...new Set(problems)].join('\n'));
      return `${Object.keys(lock.packages).length - 1} packages`;
    },
    { independent: true },
  );

  await step(
    'npm ci --dry-run of the repository prints no EBADENGINE',
    async () => {
      const copy = join(work, 'repository');
      for (const dir of ['', ...rootPkg.workspaces]) {
        await mkdir(join(copy, dir), { recursive: true });
        await writeFile(
          join(copy, dir, 'package.json'),
          await readFile(join(root, dir, 'package.json')),
        );
      }
      await writeFile(
        join(copy, 'package-lock.json'),
        await readFile(join(root, 'package-lock.json')),
      );
      const { output } = await npm(
        ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'],
        {
          cwd: copy,
        },
      );
      const warnings = output.split('\n').filter((line) => /EBADENGINE/.test(line));
      if (warnings.length > 0) throw new StepFailure('engine warnings', warnings.join('\n'));
    },
    { independent: true },
  );

  await step(
    'changesets: the pending release keeps one version and does not leave 0.x',
    async () => {
      const getReleasePlan = requireFromRoot('@changesets/get-release-plan').default;
      const { releases, changesets } = await getReleasePlan(root);
      if (releases.length === 0) return 'no pending changeset';
      const next = new Set(releases.map((r) => r.newVersion));
      const plan = releases.map((r) => `${r.name} ${r.oldVersion} -> ${r.newVersion} (${r.type})`);
      const leaves = releases.some(
        (r) => semver.major(r.oldVersion) === 0 && semver.major(r.newVersion) > 0,
      );
      // 1.0 is a decision, written as a major changeset; a peer range left by a 0.x minor is not.
      const asked = changesets.some((c) => c.releases.some((r) => r.type === 'major'));
      if (next.size !== 1 || (leaves && !asked))
        throw new StepFailure('unexpected release plan', plan.join('\n'));
      return `next release ${[...next][0]}`;
    },
    { independent: true },
  );

  if (smoke) await consumerSmokeTest(packed);
  if (failures.length > 0) {
    process.stdout.write(`FAIL ${seconds(started)}  packaging checks: ${failures.join('; ')}\n`);
    throw new Aborted();
  }
  process.stdout.write(`ok   ${seconds(started)}  all packaging checks\n`);
} catch (error) {
  failed = true;
  if (!(error instanceof Aborted)) throw error;
  process.exitCode = 1;
} finally {
  if (keep || failed) process.stdout.write(`temporary projects kept in ${work}\n`);
  else await rm(work, { recursive: true, force: true });
}

/** The version of `name` the repository's lockfile installs (the consumer's dev tools). */
function lockedVersion(name) {
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

async function consumerSmokeTest(packed) {
  const consumer = join(work, 'consumer');
  const fileSpec = (name) => `file:${relative(consumer, packed.get(name).file)}`;
  const names = [...packed.keys()];
  const schema = `causeway_smoke_${process.pid}_${Date.now().toString(36)}`;

  await mkdir(join(consumer, 'src'), { recursive: true });
  const manifest = {
    name: 'causeway-consumer',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: Object.fromEntries(names.map((name) => [name, fileSpec(name)])),
    devDependencies: {
      '@types/node': lockedVersion('@types/node'),
      typescript: lockedVersion('typescript'),
    },
    // npm runs a dependency's install script only when the project allows it.
    allowScripts: { 'better-sqlite3': true },
  };
  await writeFile(join(consumer, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [file, text] of Object.entries(consumerFiles(schema)))
    await writeFile(join(consumer, file), text);

  const install = ['--no-audit', '--no-fund', '--prefer-offline'];
  let installOutput = '';
  await step('consumer: npm install --omit=dev (every tarball)', async () => {
    ({ output: installOutput } = await npm(['install', '--omit=dev', ...install], {
      cwd: consumer,
      timeout: 900_000,
    }));
    return /added \d+ packages?[^\n]*/.exec(installOutput)?.[0];
  });
  await step(
    'consumer: the install printed no EBADENGINE',
    async () => {
      const warnings = installOutput.split('\n').filter((line) => /EBADENGINE/.test(line));
      if (warnings.length > 0) throw new StepFailure('engine warnings', warnings.join('\n'));
      const other = installOutput.split('\n').filter((line) => /^npm warn/.test(line));
      return other.length > 0 ? `other warnings:\n${indent(other.join('\n'))}` : undefined;
    },
    { independent: true },
  );

  await step(
    'consumer: installed tree is valid, without sqlite3, Emmett or TypeScript',
    async () => {
      const installed = JSON.parse(
        await readFile(join(consumer, 'node_modules', '.package-lock.json'), 'utf8'),
      );
      const all = lockedNames(installed.packages);
      // @types/node comes with the drivers' @types packages; TypeScript must not.
      const bad = all.filter((name) => forbidden(name) || name === 'typescript');
      if (bad.length > 0) throw new StepFailure(`installed: ${[...new Set(bad)].join(', ')}`);
      // npm ls exits non-zero on a missing or invalid dependency.
      await npm(['ls', '--omit=dev', '--all'], { cwd: consumer });
      return `${new Set(all).size} packages`;
    },
  );

  await step('core + postgres alone: no better-sqlite3 or sqlite3', async () => {
    const small = join(work, 'consumer-postgres');
    await mkdir(small, { recursive: true });
    const spec = (name) => `file:${relative(small, packed.get(name).file)}`;
    await writeFile(
      join(small, 'package.json'),
      JSON.stringify({
        name: 'causeway-consumer-postgres',
        version: '1.0.0',
        private: true,
        dependencies: {
          '@causewayjs/core': spec('@causewayjs/core'),
          '@causewayjs/postgres': spec('@causewayjs/postgres'),
        },
      }),
    );
    await npm(['install', '--omit=dev', '--package-lock-only', '--ignore-scripts', ...install], {
      cwd: small,
    });
    const resolved = lockedNames(
      JSON.parse(await readFile(join(small, 'package-lock.json'), 'utf8')).packages,
    );
    const bad = resolved.filter((name) => /sqlite/.test(name) || forbidden(name));
    if (bad.length > 0) throw new StepFailure(`resolved: ${bad.join(', ')}`);
    return `${resolved.length} packages`;
  });

  const node = (file) =>
    run(process.execPath, [file], { cwd: consumer, env: { CAUSEWAY_PG_URL: pgUrl } });
  await step('consumer: ESM import of the core, memory and SQLite stores', async () =>
    (await node('esm.mjs')).output.trim(),
  );
  await step(
    'consumer: CommonJS require of the core and adapters (one copy of the code)',
    async () => (await node('cjs.cjs')).output.trim(),
  );
  await step(`consumer: PostgreSQL store in schema ${schema}`, async () =>
    (await node('postgres.mjs')).output.trim(),
  );

  const bin = join(consumer, 'node_modules', '.bin', 'causeway');
  await step('consumer: causeway --help', async () => {
    const { output } = await run(bin, ['--help'], { cwd: consumer, timeout: 30_000 });
    if (!/Usage: causeway/.test(output) || !/\bdemo\b/.test(output))
      throw new StepFailure('unexpected help text', output);
  });
  await step('consumer: causeway demo --orders 5 (SQLite, port 0)', async () => {
    const argv = ['demo', '--orders', '5', '--store', 'sqlite:./demo.db', '--port', '0'];
    argv.push('--payment-failure-rate', '0', '--status-every', '0');
    const { output } = await run(bin, argv, { cwd: consumer, timeout: 180_000 });
    const counts = [
      ...output.matchAll(/orders: (\d+) \((\d+) in progress, (\d+) completed, (\d+) cancelled\)/g),
    ].at(-1);
    if (counts === undefined) throw new StepFailure('no order counts printed', output);
    const [line, total, inProgress, completed] = counts;
    if (Number(total) < 5 || Number(inProgress) !== 0 || Number(completed) !== Number(total))
      throw new StepFailure(`not every order completed: ${line}`, output);
    return line;
  });

  await step('consumer: npm install (dev tools: typescript, @types/node)', async () => {
    await npm(['install', ...install], { cwd: consumer, timeout: 300_000 });
  });
  const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  const configs = ['node16', 'nodenext', 'bundler', 'mqtt'].map((c) => `tsconfig.${c}.json`);
  for (const config of configs)
    await step(
      `consumer: tsc -p ${config} (skipLibCheck: false)`,
      async () => {
        await run(process.execPath, [tsc, '-p', config], { cwd: consumer, timeout: 180_000 });
      },
      { independent: true },
    );
}

/** The consumer project's files, by path. */
function consumerFiles(schema) {
  const base = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
    target: 'es2022',
    lib: ['es2023'],
  };
  const tsconfig = (compilerOptions, include) =>
    `${JSON.stringify({ compilerOptions: { ...base, ...compilerOptions }, include }, null, 2)}\n`;
  return {
    'tsconfig.node16.json': tsconfig({ module: 'node16', moduleResolution: 'node16' }, [
      'src/consumer.ts',
      'src/consumer-cjs.cts',
    ]),
    'tsconfig.nodenext.json': tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, [
      'src/consumer.ts',
      'src/consumer-cjs.cts',
    ]),
    'tsconfig.bundler.json': tsconfig({ module: 'esnext', moduleResolution: 'bundler' }, [
      'src/consumer.ts',
    ]),
    // The mqtt client's types (through worker-timers) name DOM types: its users need the DOM lib.
    'tsconfig.mqtt.json': tsconfig(
      { module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2023', 'dom'] },
      ['src/consumer-mqtt.ts'],
    ),

    // ESM: the core and the SQLite adapter it loads on demand by URL.
    'esm.mjs': `import assert from 'node:assert/strict';
import { MemoryEventStore, collect, openEventStore } from '@causewayjs/core';
import { SqliteEventStore } from '@causewayjs/sqlite';

async function roundTrip(store) {
  await store.append('order-1', [{ type: 'order.placed', data: { total: 30 } }], { expectedRevision: 'no_stream' });
  await store.append('order-1', [{ type: 'order.paid', data: { amount: 30 } }], { expectedRevision: 0 });
  const events = await collect(store.readStream('order-1'));
  assert.deepEqual(events.map((e) => [e.revision, e.type, e.data]), [
    [0, 'order.placed', { total: 30 }],
    [1, 'order.paid', { amount: 30 }],
  ]);
  assert.equal(await store.headPosition(), events[1].position);
  await store.close();
}
const memory = await openEventStore('memory:');
assert.ok(memory instanceof MemoryEventStore);
await roundTrip(memory);
const sqlite = await openEventStore('sqlite:./data/esm.db');
assert.ok(sqlite instanceof SqliteEventStore, 'sqlite: opens the installed @causewayjs/sqlite');
await roundTrip(sqlite);
console.log('memory: and sqlite: append and read');
`,

    // CommonJS: require() of the packages' CommonJS faces, which load the same ESM code.
    'cjs.cjs': `'use strict';
const assert = require('node:assert/strict');
const core = require('@causewayjs/core');
const { SqliteEventStore } = require('@causewayjs/sqlite');
const { PostgresEventStore } = require('@causewayjs/postgres');
const internals = require('@causewayjs/core/internals');
assert.equal(typeof core.openEventStore, 'function');
assert.equal(typeof SqliteEventStore, 'function');
assert.equal(typeof PostgresEventStore, 'function');
assert.equal(typeof internals, 'object');
(async () => {
  const esm = await import('@causewayjs/core');
  assert.equal(core.openEventStore, esm.openEventStore, 'require and import share one module instance');
  const store = await core.openEventStore('sqlite:./data/cjs.db');
  assert.ok(store instanceof SqliteEventStore);
  await store.append('cart-1', [{ type: 'cart.opened', data: {} }], { expectedRevision: 'no_stream' });
  const events = await core.collect(store.readStream('cart-1'));
  assert.deepEqual(events.map((e) => e.type), ['cart.opened']);
  await store.close();
  console.log('require() of core, core/internals, sqlite, postgres; sqlite: append and read');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,

    // PostgreSQL, in a schema of its own, dropped afterwards.
    'postgres.mjs': `import assert from 'node:assert/strict';
import { collect, openEventStore } from '@causewayjs/core';
import { PostgresEventStore } from '@causewayjs/postgres';
import pg from 'pg';

const base = process.env.CAUSEWAY_PG_URL;
const url = new URL(base);
url.searchParams.set('schema', ${JSON.stringify(schema)});
try {
  const store = await openEventStore(url.toString());
  assert.ok(store instanceof PostgresEventStore);
  await store.append('order-1', [{ type: 'order.placed', data: { total: 30 } }], { expectedRevision: 'no_stream' });
  const events = await collect(store.readStream('order-1'));
  assert.deepEqual(events.map((e) => [e.revision, e.type, e.data]), [[0, 'order.placed', { total: 30 }]]);
  await store.close();
  console.log('postgres: append and read');
} finally {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query('DROP SCHEMA IF EXISTS ${schema} CASCADE');
  await client.end();
}
`,

    // Types, as an ESM consumer sees them (every package's main entry).
    'src/consumer.ts': `import {
  MemoryEventStore,
  collect,
  openEventStore,
  type RecordedEvent,
  type TransactionalEventStore,
} from '@causewayjs/core';
import * as internals from '@causewayjs/core/internals';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { PostgresEventStore, openPostgresBackend } from '@causewayjs/postgres';
import { causeway, createFetchHandler } from '@causewayjs/server';
import { runCli } from '@causewayjs/cli';
import { NatsMessageBus } from '@causewayjs/nats';
import { RabbitMqMessageBus } from '@causewayjs/rabbitmq';
import { BaseEventStore } from '@causewayjs/testing';
import { shopModule } from '@causewayjs/example-shop';

export async function firstEvent(url: string): Promise<RecordedEvent | undefined> {
  const store: TransactionalEventStore = await openEventStore(url);
  await store.append('order-1', [{ type: 'order.placed', data: { total: 30 } }], {
    expectedRevision: 'no_stream',
  });
  const [first] = await collect(store.readStream('order-1'));
  await store.close();
  return first;
}

// The types are real, not any: each of these must be an error.
// @ts-expect-error a store is not a number
export const notANumber: number = new MemoryEventStore();
// @ts-expect-error append needs events
export const badAppend = (store: TransactionalEventStore) => store.append('s');

export const used = [
  internals,
  SqliteEventStore,
  PostgresEventStore,
  openPostgresBackend,
  causeway,
  createFetchHandler,
  runCli,
  NatsMessageBus,
  RabbitMqMessageBus,
  BaseEventStore,
  shopModule,
];
`,

    // Types of the MQTT adapter and the sensors example.
    'src/consumer-mqtt.ts': `import { MqttIngest, MqttPublisher } from '@causewayjs/mqtt';
import * as sensors from '@causewayjs/example-sensors';

// @ts-expect-error an ingest needs its options
export const ingest = new MqttIngest();
export const used = [MqttPublisher, sensors];
`,

    // Types, as a CommonJS consumer sees them (import = require).
    'src/consumer-cjs.cts': `import core = require('@causewayjs/core');
import sqlite = require('@causewayjs/sqlite');
import postgres = require('@causewayjs/postgres');
import internals = require('@causewayjs/core/internals');

export async function count(url: string): Promise<number> {
  const store: core.TransactionalEventStore = await core.openEventStore(url);
  const events: core.RecordedEvent[] = await core.collect(store.readStream('order-1'));
  await store.close();
  return events.length;
}
// @ts-expect-error a store is not a string
export const notAString: string = new core.MemoryEventStore();
export const used = [sqlite.SqliteEventStore, postgres.PostgresEventStore, internals];
`,
  };
}
