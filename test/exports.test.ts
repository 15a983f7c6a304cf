import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Condition {
  types: string;
  default: string;
}
interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  type?: string;
  main?: string;
  types?: string;
  engines?: { node?: string };
  repository?: { url?: string; directory?: string };
  exports: Record<string, { import: Condition; require: Condition } | string>;
  typesVersions?: Record<string, Record<string, string[]>>;
}
const repo = new URL('../', import.meta.url);
const read = (url: URL) => JSON.parse(readFileSync(url, 'utf8')) as PackageJson;
const workspaceRoot = read(new URL('package.json', repo)) as PackageJson & { workspaces: string[] };
const packages = workspaceRoot.workspaces.map((dir) => ({
  dir,
  pkg: read(new URL(`${dir}/package.json`, repo)),
}));

/** The source file a built ESM file is compiled from (`src/` in packages, the folder in examples). */
const toSource = (dir: string, distPath: string) => {
  const srcDir = dir.startsWith('examples/') ? '' : 'src/';
  return new URL(
    `${dir}/${distPath.replace(/^\.\/dist\/esm\//, srcDir).replace(/\.js$/, '.ts')}`,
    repo,
  );
};

describe('package exports maps', () => {
  it('the versions the packages report at run time are their package versions', async () => {
    const { CAUSEWAY_VERSION } = await import('@causewayjs/core/internals');
    const { SERVER_VERSION } = await import('../packages/server/src/mount-causeway.js');
    const version = (name: string) => packages.find(({ pkg }) => pkg.name === name)?.pkg.version;
    expect(CAUSEWAY_VERSION).toBe(version('@causewayjs/core'));
    expect(SERVER_VERSION).toBe(version('@causewayjs/server'));
  });

  it('the workspace root is private and every package is a scoped, licensed ESM package', () => {
    expect(workspaceRoot.private).toBe(true);
    for (const { dir, pkg } of packages) {
      expect(pkg.name, dir).toMatch(/^@causewayjs\/[a-z-]+$/);
      expect(pkg.license, dir).toBe('MIT');
      expect(pkg.type, dir).toBe('module');
      expect(pkg.engines?.node, dir).toBe(workspaceRoot.engines?.node);
      expect(pkg.repository?.directory, dir).toBe(dir);
    }
  });

  it('the core offers exactly its documented entry points', () => {
    const core = packages.find(({ pkg }) => pkg.name === '@causewayjs/core')?.pkg;
    expect(Object.keys(core?.exports ?? {}).sort()).toEqual(['.', './internals', './package.json']);
  });

  for (const { dir, pkg } of packages) {
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      it(`${pkg.name} ${entry}: ESM and CommonJS faces of an existing source module`, () => {
        expect(target.import.default).toMatch(/^\.\/dist\/esm\/.+\.js$/);
        expect(target.import.types).toBe(target.import.default.replace(/\.js$/, '.d.ts'));
        expect(target.require.default).toBe(target.import.default.replace('/esm/', '/cjs/'));
        expect(target.require.types).toBe(target.require.default.replace(/\.js$/, '.d.ts'));
        expect(existsSync(toSource(dir, target.import.default))).toBe(true);
        // node10 resolution reads main/types for the root and typesVersions for subpaths.
        if (entry === '.') {
          expect(pkg.main).toBe(target.require.default);
          expect(pkg.types).toBe(target.require.types);
        } else {
          expect(pkg.typesVersions?.['*']?.[entry.slice(2)]).toEqual([target.require.types]);
        }
      });
    }
  }

  it('the core entry exports named values only, and no driver', async () => {
    const core = (await import('@causewayjs/core')) as Record<string, unknown>;
    expect('default' in core).toBe(false);
    for (const name of [
      'openEventStore',
      'MemoryEventStore',
      'CausewayError',
      'WrongExpectedRevisionError',
      'collect',
      'newId',
      'encodeJson',
    ]) {
      expect(core[name], name).toBeDefined();
    }
    expect(core.SqliteEventStore).toBeUndefined();
    expect(core.PostgresEventStore).toBeUndefined();
  });

  it('the testing entry offers the base classes and every conformance suite', async () => {
    const testing = (await import('@causewayjs/testing')) as Record<string, unknown>;
    for (const name of [
      'BaseEventStore',
      'BaseStoreTransaction',
      'ForwardingEventStore',
      'createBackend',
      'describeEventStoreConformance',
      'describeSubscriptionConformance',
      'describeSubscriptionSeamsConformance',
      'describeConsumerGroupConformance',
      'describeProjectionConformance',
      'describeDocumentStoreConformance',
      'describeSagaStoreConformance',
      'describeSnapshotStoreConformance',
      'describeSchemaStorageConformance',
      'describeKeyStoreConformance',
      'describeStreamStateConformance',
      'describeSubjectEraserConformance',
      'describeMessageBusConformance',
      'describeCommandsConformance',
    ]) {
      expect(typeof testing[name], name).toBe('function');
    }
  });

  it('the adapter entries export their store classes', async () => {
    const sqlite = (await import('@causewayjs/sqlite')) as Record<string, unknown>;
    const postgres = (await import('@causewayjs/postgres')) as Record<string, unknown>;
    for (const name of ['SqliteEventStore', 'SqliteSnapshotStore', 'SqliteSchemaStorage']) {
      expect(typeof sqlite[name], name).toBe('function');
    }
    for (const name of ['PostgresEventStore', 'PostgresSnapshotStore', 'PostgresSchemaStorage']) {
      expect(typeof postgres[name], name).toBe('function');
    }
    expect('default' in sqlite || 'default' in postgres).toBe(false);
  });

  it('the MQTT entry exports the ingest, the publisher and their errors', async () => {
    const mqtt = (await import('@causewayjs/mqtt')) as Record<string, unknown>;
    for (const name of ['MqttIngest', 'MqttPublisher', 'TopicPattern', 'messageEventId']) {
      expect(typeof mqtt[name], name).toBe('function');
    }
    expect(mqtt.MqttErrorCode).toBeDefined();
    expect('default' in mqtt).toBe(false);
  });

  it('the core entry does not load a database driver when imported', async () => {
    const { execFileSync } = await import('node:child_process');
    const script =
      "await import('./packages/core/src/index.ts'); const { createRequire } = await import('node:module');" +
      'const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules[\\\\/](better-sqlite3|pg)[\\\\/]/.test(k));' +
      'console.log(JSON.stringify(loaded));';
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('..', import.meta.url),
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(out.trim())).toEqual([]);
  });
});
