// A stream job on a stacked backend appends its derived events through the decorated store,
// inside its checkpoint's transaction: output its schema refuses fails the job, and nothing
// of that checkpoint (events or state) is stored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  openBackend,
  SchemaRegistry,
  SchemaValidationError,
  stackBackend,
  StreamCommitFailedError,
  StreamJob,
  storeSink,
  storeSource,
  type Backend,
  type RecordedEvent,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const pg = await pgAvailable();

type Kind = 'memory' | 'sqlite' | 'postgres';

async function openKind(kind: Kind, cleanup: (() => Promise<void> | void)[]): Promise<Backend> {
  if (kind === 'memory') return openBackend('memory:');
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-stream-stack-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return openBackend(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 10 });
  }
  const schema = randomSchemaName();
  cleanup.push(() => dropSchema(schema));
  return openBackend(pgUrl, { schema, maxConnections: 4 });
}

for (const kind of ['memory', 'sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !pg)(
    `stream-job store sinks on a stacked backend (${kind})`,
    () => {
      const cleanup: (() => Promise<void> | void)[] = [];
      afterEach(async () => {
        for (const step of cleanup.splice(0).reverse()) await step();
      });

      it('fails the job on output its schema refuses, storing nothing of that checkpoint', async () => {
        const backend = await openKind(kind, cleanup);
        cleanup.push(() => backend.close());
        const registry = await SchemaRegistry.open({ storage: await backend.schemaStorage() });
        await registry.register('reading.derived', {
          type: 'object',
          required: ['v'],
          properties: { v: { type: 'number' } },
        });
        const app = await stackBackend(backend, { schemas: { registry } });
        const checkpoints = await app.streamStateStore();
        const job = () => {
          const j = new StreamJob<RecordedEvent>({
            name: 'derive',
            source: storeSource(app.store, { live: false, filter: { types: ['reading.taken'] } }),
            timestamp: 'recordedAt',
            checkpoints,
          });
          j.input.to(
            storeSink<RecordedEvent>({
              store: app.store,
              stream: () => 'derived-1',
              event: (e) => ({ type: 'reading.derived', data: e.data }),
            }),
          );
          return j;
        };

        await app.store.append('reading-1', [{ type: 'reading.taken', data: { v: 1 } }]);
        await job().run();
        const derived = await collect(backend.store.readStream('derived-1'));
        expect(derived.map((e) => [e.data, e.schemaVersion])).toEqual([[{ v: 1 }, 1]]);
        const before = await checkpoints.load('derive');

        await app.store.append('reading-1', [
          { type: 'reading.taken', data: { v: 2 } },
          { type: 'reading.taken', data: { v: 'NOT A NUMBER' } },
        ]);
        const failing = job();
        const error = await failing.run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StreamCommitFailedError);
        expect((error as Error).cause).toBeInstanceOf(SchemaValidationError);
        expect(failing.status().state).toBe('failed');
        // Neither the valid nor the invalid output of the failed checkpoint, nor its state.
        expect(await collect(backend.store.readStream('derived-1'))).toHaveLength(1);
        expect((await checkpoints.load('derive'))?.position).toBe(before?.position);
      });
    },
  );
}
