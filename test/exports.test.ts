import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface ExportTarget {
  types: string;
  import: string;
}
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, ExportTarget | string>;
};

const toSource = (distPath: string) =>
  new URL(`../${distPath.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`, import.meta.url);

describe('package exports map', () => {
  it('offers exactly the documented entry points', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual([
      '.',
      './mqtt',
      './nats',
      './package.json',
      './postgres',
      './rabbitmq',
      './server',
      './sqlite',
      './testing',
    ]);
  });

  for (const [entry, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    it(`${entry} points at a built file of an existing source module, with types beside it`, () => {
      expect(target.import).toMatch(/^\.\/dist\/.+\.js$/);
      expect(target.types).toBe(target.import.replace(/\.js$/, '.d.ts'));
      expect(existsSync(toSource(target.import))).toBe(true);
    });
  }

  it('the core entry exports named values only, and no driver', async () => {
    const core = (await import('../src/index.js')) as Record<string, unknown>;
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
    const testing = (await import('../src/testing/index.js')) as Record<string, unknown>;
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
    const sqlite = (await import('../src/adapters/sqlite/index.js')) as Record<string, unknown>;
    const postgres = (await import('../src/adapters/postgres/index.js')) as Record<string, unknown>;
    for (const name of ['SqliteEventStore', 'SqliteSnapshotStore', 'SqliteSchemaStorage']) {
      expect(typeof sqlite[name], name).toBe('function');
    }
    for (const name of ['PostgresEventStore', 'PostgresSnapshotStore', 'PostgresSchemaStorage']) {
      expect(typeof postgres[name], name).toBe('function');
    }
    expect('default' in sqlite || 'default' in postgres).toBe(false);
  });

  it('the MQTT entry exports the ingest, the publisher and their errors', async () => {
    const mqtt = (await import('../src/adapters/mqtt/index.js')) as Record<string, unknown>;
    for (const name of ['MqttIngest', 'MqttPublisher', 'TopicPattern', 'messageEventId']) {
      expect(typeof mqtt[name], name).toBe('function');
    }
    expect(mqtt.MqttErrorCode).toBeDefined();
    expect('default' in mqtt).toBe(false);
  });

  it('the core entry does not load a database driver when imported', async () => {
    const { execFileSync } = await import('node:child_process');
    const script =
      "await import('./src/index.ts'); const { createRequire } = await import('node:module');" +
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
