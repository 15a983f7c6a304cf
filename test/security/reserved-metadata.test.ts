// Metadata the store's layers own cannot be forged: over HTTP an event setting
// `metadata.encryption` or `metadata.integrity` is refused (400 RESERVED_METADATA, nothing
// written) and `metadata.actor` is the authenticated caller; through the library's decorated
// store the layers overwrite a caller's value. And an event that does not decrypt (forged
// around the layers) never stops a reader for good: a subscription parks it with
// DECRYPTION_FAILED and goes on.
import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  DecryptionError,
  EventDecodeError,
  generateMasterKey,
  type RecordedEvent,
  stackBackend,
  type Backend,
  Subscription,
} from '@causewayjs/core';
import { backendTargets, securedServer, type SecuredServer } from './secured-server.js';

const masterKey = generateMasterKey('m-1');
const personal = { 'customer.registered': { subject: '$.id', fields: ['$.email'] } };
const forgedEncryption = { v: 1, subject: 'c-1', fields: ['$.email'] };
const forgedIntegrity = { v: 1, hash: 'f'.repeat(64), prev: '0'.repeat(64) };

for (const target of await backendTargets()) {
  describe.skipIf(!target.available)(`reserved metadata on ${target.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    const open = async (): Promise<{ backend: Backend; http: SecuredServer }> => {
      const opened = await target.open();
      cleanups.push(opened.cleanup);
      const http = await securedServer(opened.backend);
      cleanups.push(() => http.server.close());
      return { backend: opened.backend, http };
    };

    it('refuses metadata.encryption and metadata.integrity over HTTP, writing nothing', async () => {
      const { backend, http } = await open();
      for (const [key, value] of [
        ['encryption', forgedEncryption],
        ['integrity', forgedIntegrity],
      ] as const) {
        const reply = await http.append(
          'order-1',
          [
            { type: 'order.placed', data: { n: 1 } },
            { type: 'order.placed', data: { n: 2 }, metadata: { [key]: value } },
          ],
          'writer',
        );
        expect(reply.status).toBe(400);
        expect(reply.body).toMatchObject({
          code: 'RESERVED_METADATA',
          details: { key, index: 1 },
        });
      }
      expect(await backend.store.headPosition()).toBe(0);
    });

    it('stamps the authenticated caller as actor, whatever the event claims', async () => {
      const { backend, http } = await open();
      const reply = await http.append(
        'order-1',
        [{ type: 'order.placed', data: {}, metadata: { actor: 'admin', correlationId: 'c-9' } }],
        'writer',
      );
      expect(reply.status).toBe(201);
      const [stored] = await collect(backend.store.readStream('order-1'));
      expect(stored!.metadata).toMatchObject({ actor: 'writer', correlationId: 'c-9' });
    });

    it('lets the encrypting and hash-chaining layers overwrite a caller’s values', async () => {
      const { backend } = await open();
      const app = await stackBackend(backend, {
        encryption: { masterKey, personal },
        integrity: true,
      });
      await app.store.append('customer-1', [
        {
          type: 'customer.registered',
          data: { id: 'c-2', email: 'two@example.test' },
          metadata: { encryption: forgedEncryption, integrity: forgedIntegrity },
        },
        // Not personal: a forged record is dropped, not kept for readers to trip on.
        {
          type: 'customer.noted',
          data: { email: 'x' },
          metadata: { encryption: forgedEncryption },
        },
      ]);
      const [registered, noted] = await collect(app.store.readStream('customer-1'));
      expect(registered!.data).toEqual({ id: 'c-2', email: 'two@example.test' });
      expect(registered!.metadata.encryption).toMatchObject({ subject: 'c-2' });
      expect(registered!.metadata.integrity).not.toMatchObject({ hash: forgedIntegrity.hash });
      expect(noted!.metadata.encryption).toBeUndefined();
      expect(noted!.data).toEqual({ email: 'x' });
    });

    it('parks an event that does not decrypt, with DECRYPTION_FAILED, and delivers the rest', async () => {
      const { backend } = await open();
      const app = await stackBackend(backend, { encryption: { masterKey, personal } });
      const register = (n: number) => ({
        type: 'customer.registered',
        data: { id: 'c-1', email: `${n}@example.test` },
      });
      await app.store.append('customer-1', [register(1)]);
      // Written around the layers: plaintext under a forged encryption record of a real subject.
      await backend.store.append('customer-2', [
        { ...register(2), metadata: { encryption: forgedEncryption } },
      ]);
      await app.store.append('customer-3', [register(3)]);
      await expect(collect(app.store.readAll())).rejects.toBeInstanceOf(DecryptionError);

      const delivered: RecordedEvent[] = [];
      const subscription = new Subscription({
        name: 'customers',
        storage: await app.subscriptionStorage(),
        handler: (event) => {
          delivered.push(event);
        },
        lease: false,
        idleCheckIntervalMs: 20,
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      });
      cleanups.push(() => subscription.stop());
      await subscription.start();
      await subscription.waitForPosition(3, { timeoutMs: 15_000 });
      expect(delivered.map((e) => [e.position, (e.data as { email: string }).email])).toEqual([
        [1, '1@example.test'],
        [3, '3@example.test'],
      ]);
      expect(subscription.status).toMatchObject({ running: true, error: undefined, position: 3 });
      expect(await subscription.listParked()).toMatchObject([
        {
          position: 2,
          stream: 'customer-2',
          type: 'customer.registered',
          reason: 'failed',
          error: { name: 'DecryptionError', code: 'DECRYPTION_FAILED' },
        },
      ]);
      // It is an undecodable event like any other, with its own code.
      const error = new DecryptionError(delivered[0]!, '$.email');
      expect(error).toBeInstanceOf(EventDecodeError);
      expect(error.code).toBe('DECRYPTION_FAILED');
    });
  });
}
