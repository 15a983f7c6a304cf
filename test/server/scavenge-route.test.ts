import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryEventStore,
  collect,
  withMembers,
  type ScavengeReport,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';
import { backendTargets, securedServer } from '../security/secured-server.js';

const report = (r: { body: unknown }) => r.body as ScavengeReport;
const EMPTY_BODY = {
  method: 'POST' as const,
  url: '/admin/scavenge',
  payload: '{}',
  headers: { 'content-type': 'application/json' },
};

for (const target of await backendTargets()) {
  describe.skipIf(!target.available)(`POST /admin/scavenge on ${target.name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    it('removes what reads no longer show for an admin, and answers the report', async () => {
      const opened = await target.open();
      cleanup = opened.cleanup;
      const { backend } = opened;
      const secured = await securedServer(backend);
      const { server } = secured;
      const call = secured.call.bind(secured);
      try {
        await backend.store.append('order-1', [
          { type: 'order.placed', data: {} },
          { type: 'order.paid', data: {} },
        ]);
        await backend.store.append('order-2', [{ type: 'order.placed', data: {} }]);
        await backend.store.setStreamMetadata('order-1', { maxCount: 1 });
        await backend.store.deleteStream('order-2', { hard: true });

        const dry = await call('POST', '/admin/scavenge', { as: 'admin', json: { dryRun: true } });
        expect(dry.status).toBe(200);
        expect(report(dry)).toMatchObject({ dryRun: true, eventsRemoved: 2 });
        expect((await collect(backend.store.readAll())).map((e) => e.position)).toEqual([1, 2]);

        const real = await call('POST', '/admin/scavenge', { as: 'admin', json: { batchSize: 1 } });
        expect(real.status).toBe(200);
        expect(report(real)).toMatchObject({
          dryRun: false,
          eventsRemoved: 2,
          streamsScavenged: 2,
          streamsEmptied: 1,
          batches: 2,
        });
        expect((await collect(backend.store.readAll())).map((e) => e.position)).toEqual([2]);
        // An empty object is the defaults.
        const again = await call('POST', '/admin/scavenge', { as: 'admin', json: {} });
        expect(again.status).toBe(200);
        expect(report(again).eventsRemoved).toBe(0);
      } finally {
        await server.close();
      }
    });

    it('needs the admin permission, and refuses bad options with 400', async () => {
      const opened = await target.open();
      cleanup = opened.cleanup;
      const { backend } = opened;
      const secured = await securedServer(backend);
      const { server } = secured;
      const call = secured.call.bind(secured);
      try {
        await backend.store.append('order-9', [{ type: 'order.placed', data: {} }]);
        await backend.store.deleteStream('order-9', { hard: true });
        expect((await call('POST', '/admin/scavenge', { json: {} })).status).toBe(401);
        for (const as of ['reader', 'writer', 'acme'] as const)
          expect((await call('POST', '/admin/scavenge', { as, json: {} })).status, as).toBe(403);
        for (const json of [{ batchSize: 0 }, { batchSize: 100_001 }, { batchSize: 'many' }, []]) {
          const bad = await call('POST', '/admin/scavenge', { as: 'admin', json });
          expect(bad.status, JSON.stringify(json)).toBe(400);
        }
        // Nothing was removed by any of them.
        expect((await backend.store.streamInfo('order-9')).deleted).toBe('hard');
        const dry = await call('POST', '/admin/scavenge', { as: 'admin', json: { dryRun: true } });
        expect(report(dry).eventsRemoved).toBe(1);
      } finally {
        await server.close();
      }
    });
  });
}

describe('POST /admin/scavenge, whatever the store', () => {
  let server: CausewayServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers 501 SCAVENGE_UNSUPPORTED for a store that cannot scavenge', async () => {
    const memory = new MemoryEventStore();
    const store = withMembers(memory, {
      scavenge: undefined,
    }) as TransactionalEventStore;
    server = await createServer({ store, adminUi: false, statsSampleMs: 0 });
    const reply = await server.app.inject(EMPTY_BODY);
    expect(reply.statusCode, reply.body).toBe(501);
    expect((JSON.parse(reply.body) as { code: string }).code).toBe('SCAVENGE_UNSUPPORTED');
  });

  it('runs one scavenge at a time: a second request meanwhile answers 409', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const done: ScavengeReport = {
      dryRun: false,
      eventsRemoved: 0,
      streamsScavenged: 0,
      streamsEmptied: 0,
      bytesRemoved: 0,
      batches: 0,
    };
    server = await createServer({
      store: new MemoryEventStore(),
      adminUi: false,
      statsSampleMs: 0,
      scavenge: async () => {
        started();
        await gate;
        return done;
      },
    });
    const first = server.app.inject(EMPTY_BODY);
    await running;
    const second = await server.app.inject(EMPTY_BODY);
    expect(second.statusCode).toBe(409);
    expect((JSON.parse(second.body) as { code: string }).code).toBe('SCAVENGE_RUNNING');
    release();
    expect((await first).statusCode).toBe(200);
  });
});
