import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  defineProjection,
  memoryProjectionStore,
  Projector,
  type DocumentReadModel,
  MemoryEventStore,
  tenantFilter,
  tenantOfStream,
  tenantScopedStore,
  tenantStream,
  TenantForbiddenError,
  SecurityConfigError,
  StoreClosedError,
} from '@causewayjs/core';

const placed = (n: number) => ({ type: 'order.placed', data: { n } });

describe('tenantScopedStore', () => {
  const stores: MemoryEventStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  const setup = async () => {
    const store = new MemoryEventStore();
    stores.push(store);
    const acme = tenantScopedStore(store, 'acme');
    const globex = tenantScopedStore(store, 'globex');
    await acme.append('acme:order-1', [placed(1), placed(2)]);
    await globex.append('globex:order-1', [placed(3)]);
    await store.append('order-9', [placed(4)]); // outside every tenant
    // Written by an unscoped caller into acme's namespace, claiming another tenant.
    await store.append('acme:order-2', [{ ...placed(5), metadata: { tenant: 'globex' } }]);
    return { store, acme, globex };
  };

  it('stamps every appended event with the tenant', async () => {
    const { store } = await setup();
    const events = await collect(store.readStream('acme:order-1'));
    expect(events.map((e) => e.metadata.tenant)).toEqual(['acme', 'acme']);
  });

  it('refuses writes to other tenants and to no tenant, and events naming another tenant; nothing is written', async () => {
    const { store, acme } = await setup();
    const head = await store.headPosition();
    await expect(acme.append('globex:order-1', [placed(9)])).rejects.toBeInstanceOf(
      TenantForbiddenError,
    );
    await expect(acme.append('order-9', [placed(9)])).rejects.toBeInstanceOf(TenantForbiddenError);
    await expect(acme.append('acmecorp:x', [placed(9)])).rejects.toBeInstanceOf(
      TenantForbiddenError,
    );
    await expect(
      acme.append('acme:order-1', [{ ...placed(9), metadata: { tenant: 'globex' } }]),
    ).rejects.toBeInstanceOf(TenantForbiddenError);
    await expect(
      acme.appendMany([
        { stream: 'acme:order-1', events: [placed(9)] },
        { stream: 'globex:order-1', events: [placed(9)] },
      ]),
    ).rejects.toBeInstanceOf(TenantForbiddenError);
    await expect(acme.deleteStream('globex:order-1')).rejects.toBeInstanceOf(TenantForbiddenError);
    await expect(acme.setStreamMetadata('globex:order-1', {})).rejects.toBeInstanceOf(
      TenantForbiddenError,
    );
    expect(await store.headPosition()).toBe(head);
    expect((await store.streamInfo('globex:order-1')).exists).toBe(true);
  });

  it('reads only its own streams and events, through readStream, readAll and transactions', async () => {
    const { acme, globex } = await setup();
    // Refused on the call, as the store refuses bad arguments, not at the first iteration.
    expect(() => acme.readStream('globex:order-1')).toThrow(TenantForbiddenError);
    await expect(acme.streamInfo('globex:order-1')).rejects.toBeInstanceOf(TenantForbiddenError);
    const all = await collect(acme.readAll());
    expect(all.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(all.every((e) => e.stream.startsWith('acme:') && e.metadata.tenant === 'acme')).toBe(
      true,
    );
    // The event forged into acme's namespace with another tenant is seen by neither.
    expect(await collect(acme.readStream('acme:order-2'))).toEqual([]);
    expect((await collect(globex.readAll())).map((e) => e.data)).toEqual([{ n: 3 }]);
    // A prefix pointing elsewhere yields nothing; `limit` counts what is yielded.
    expect(await collect(acme.readAll({ filter: { streamPrefix: 'globex:' } }))).toEqual([]);
    expect(await collect(acme.readAll({ filter: { streamPrefix: 'g' } }))).toEqual([]);
    expect((await collect(acme.readAll({ limit: 1 }))).length).toBe(1);
    await acme.transaction?.(async (tx) => {
      await tx.append('acme:order-3', [placed(6)]);
      await expect(tx.append('globex:order-3', [placed(7)])).rejects.toBeInstanceOf(
        TenantForbiddenError,
      );
    });
    expect((await collect(acme.readStream('acme:order-3')))[0]?.metadata.tenant).toBe('acme');
  });

  it("counts only its own namespace's streams, as it lists them", async () => {
    const { store, acme, globex } = await setup();
    const listed = async (view: typeof acme, prefix?: string) =>
      (await collect(view.listStreams(prefix === undefined ? {} : { prefix }))).length;
    expect(await store.countStreams()).toBe(4);
    expect(await acme.countStreams()).toBe(await listed(acme));
    expect(await acme.countStreams()).toBe(2);
    expect(await globex.countStreams()).toBe(1);
    expect(await acme.countStreams({ prefix: 'acme:order-1' })).toBe(1);
    // A prefix outside the tenant counts nothing, as it lists nothing.
    expect(await acme.countStreams({ prefix: 'globex:' })).toBe(0);
    expect(await acme.countStreams({ prefix: 'order-' })).toBe(await listed(acme, 'order-'));
  });

  it('closes only the view', async () => {
    const { store, acme, globex } = await setup();
    await acme.close();
    await expect(acme.append('acme:order-1', [placed(1)])).rejects.toBeInstanceOf(StoreClosedError);
    expect(store.isClosed).toBe(false);
    await globex.append('globex:order-1', [placed(1)]);
  });

  it('runs a projection per tenant by reading through the tenant view', async () => {
    const { store } = await setup();
    const counts = defineProjection<DocumentReadModel>({
      name: 'orders-per-stream',
      version: 1,
      handles: ['order.placed'],
      setup: (rm) => void rm.collection(),
      apply: (event, rm) => {
        rm.collection<number>().update(event.stream, (n) => (n ?? 0) + 1);
      },
    });
    const projector = new Projector({
      store: memoryProjectionStore(store),
      projections: [counts],
      subscription: { source: tenantScopedStore(store, 'acme') },
    });
    try {
      await projector.start();
      const head = await store.headPosition();
      const { data } = await projector.query(
        'orders-per-stream',
        (rm) =>
          Object.fromEntries(
            rm
              .collection<number>()
              .ids()
              .map((id) => [id, rm.collection<number>().get(id)]),
          ),
        { minPosition: head, timeoutMs: 10_000 },
      );
      expect(data).toEqual({ 'acme:order-1': 2 });
    } finally {
      await projector.stop();
    }
  });

  it('scopes projections with a filter helper and names streams by convention', async () => {
    const { store } = await setup();
    const onlyAcme = tenantFilter('acme');
    const seen = (await collect(store.readAll())).filter(onlyAcme).map((e) => e.data);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect(tenantStream('acme', 'order-1')).toBe('acme:order-1');
    expect(tenantOfStream('acme:order-1')).toBe('acme');
    expect(tenantOfStream('order-1')).toBeUndefined();
    expect(() => tenantScopedStore(store, 'a/b')).toThrow(SecurityConfigError);
    expect(() => tenantScopedStore(store, '')).toThrow(SecurityConfigError);
  });
});
