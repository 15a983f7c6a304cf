/**
 * `GET /streams` answers the store's total of matching streams beside the page, to admins
 * only: a count over every stream would tell a caller of streams it may not read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventStore, generateApiKey, createAccessGuard } from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';

describe('GET /streams totals', () => {
  let server: CausewayServer | undefined;
  let store: MemoryEventStore | undefined;

  afterEach(async () => {
    await server?.close();
    await store?.close();
  });

  it('counts every matching stream, not the page, and only for admins', async () => {
    store = new MemoryEventStore();
    await store.appendMany(
      Array.from({ length: 7 }, (_, i) => ({
        stream: `order-${i}`,
        events: [{ type: 'order.placed', data: {} }],
      })),
    );
    await store.append('customer-1', [{ type: 'customer.registered', data: {} }]);
    await store.append('order-gone', [{ type: 'order.placed', data: {} }]);
    await store.deleteStream('order-gone');
    const admin = generateApiKey('admin');
    const reader = generateApiKey('reader');
    server = await createServer({
      store,
      adminUi: false,
      guard: createAccessGuard({
        apiKeys: [
          { id: admin.id, hash: admin.hash, roles: ['admin'] },
          { id: reader.id, hash: reader.hash, roles: ['reader'] },
        ],
        rules: [
          { roles: ['admin'], prefix: '', allow: ['read', 'write', 'delete', 'admin'] },
          { roles: ['reader'], prefix: 'order-', allow: ['read'] },
        ],
      }),
    });
    const get = async (url: string, key: string) => {
      const reply = await server!.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `ApiKey ${key}` },
      });
      expect(reply.statusCode).toBe(200);
      return reply.json<{ streams: unknown[]; next: string | null; total: number | null }>();
    };

    const page = await get('/streams?prefix=order-&limit=2', admin.key);
    expect(page.streams).toHaveLength(2);
    expect(page.total).toBe(7);
    expect((await get('/streams?limit=2', admin.key)).total).toBe(8);
    expect((await get('/streams?prefix=order-&includeDeleted=true', admin.key)).total).toBe(8);

    // A reader of orders only sees its page, and no count of the whole store.
    const read = await get('/streams?prefix=order-&limit=2', reader.key);
    expect(read.streams).toHaveLength(2);
    expect(read.total).toBeNull();
  });
});
