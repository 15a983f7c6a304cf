import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  defineProjection,
  encryptedEventStore,
  EncryptionError,
  generateMasterKey,
  ManualClock,
  MemoryDataKeyStore,
  MemoryEventStore,
  memoryProjectionStore,
  Projector,
  REDACTED,
  SecurityConfigError,
  SubjectForgottenError,
  SUBJECT_FORGOTTEN_EVENT,
  WrongMasterKeyError,
  DecryptionError,
  type DocumentReadModel,
  type EncryptedEventStoreOptions,
  type EventStore,
} from '@causewayjs/core';

const master = generateMasterKey('2026-01');
const personal: EncryptedEventStoreOptions['personal'] = {
  'customer.registered': { subject: '$.customerId', fields: ['$.email', '$.address'] },
  'order.placed': {
    subject: (e) => (e.data as { customerId?: string }).customerId,
    fields: ['$.shipTo'],
  },
};

const registered = (customerId: string, email: string) => ({
  type: 'customer.registered',
  data: {
    customerId,
    email,
    address: { street: `${email} street`, city: 'Lyon' },
    plan: 'gold',
  },
});

describe('encryptedEventStore', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const setup = async (options: Partial<EncryptedEventStoreOptions> = {}) => {
    const raw = new MemoryEventStore();
    const keyStore = new MemoryDataKeyStore();
    const store = await encryptedEventStore(raw, {
      keyStore,
      masterKey: master,
      personal,
      ...options,
    });
    cleanups.push(() => raw.close());
    return { raw, keyStore, store };
  };

  const rawText = async (raw: EventStore) => JSON.stringify(await collect(raw.readAll()));

  it('stores personal fields only as ciphertext and reads them back decrypted', async () => {
    const { raw, store } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const [stored] = await collect(raw.readStream('customer-1'));
    expect(await rawText(raw)).not.toContain('ada@example.com');
    expect(stored?.data).toMatchObject({ customerId: 'c-1', plan: 'gold' });
    // Two personal fields: one seal for both (version 2), held by the first field.
    expect((stored?.data as { email: string }).email).toMatch(/^cw2:./);
    expect((stored?.data as { address: string }).address).toBe('cw2:');
    expect(stored?.metadata.encryption).toEqual({
      v: 2,
      subject: 'c-1',
      fields: ['$.email', '$.address'],
    });
    const [read] = await collect(store.readStream('customer-1'));
    expect(read?.data).toEqual(registered('c-1', 'ada@example.com').data);
    expect((await collect(store.readAll()))[0]?.data).toEqual(
      registered('c-1', 'ada@example.com').data,
    );
  });

  it('leaves events without personal fields untouched', async () => {
    const { raw, store } = await setup();
    await store.append('order-1', [{ type: 'order.shipped', data: { orderId: 'o-1' } }]);
    await store.append('order-2', [{ type: 'order.placed', data: { customerId: 'c-1' } }]);
    const events = await collect(raw.readAll());
    expect(events.map((e) => e.metadata.encryption)).toEqual([undefined, undefined]);
  });

  it('forgets a subject: personal fields read as redacted, other fields and events stay, audited', async () => {
    const { raw, store, keyStore } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    await store.append('customer-2', [registered('c-2', 'bob@example.com')]);
    await store.append('order-1', [
      { type: 'order.placed', data: { customerId: 'c-1', shipTo: 'Ada, 1 rue X', total: 10 } },
    ]);
    const before = await rawText(raw);
    const result = await store.forgetSubject('c-1', { actor: 'dpo', reason: 'erasure request' });
    expect(result.keyDestroyed).toBe(true);
    expect((await keyStore.get('c-1'))?.state).toBe('forgotten');
    const [customer] = await collect(store.readStream('customer-1'));
    expect(customer?.data).toEqual({
      customerId: 'c-1',
      email: REDACTED,
      address: REDACTED,
      plan: 'gold',
    });
    expect(customer?.metadata.encryption).toMatchObject({ redacted: true });
    const [order] = await collect(store.readStream('order-1'));
    expect(order?.data).toEqual({ customerId: 'c-1', shipTo: REDACTED, total: 10 });
    // Another subject is untouched.
    expect((await collect(store.readStream('customer-2')))[0]?.data).toMatchObject({
      email: 'bob@example.com',
    });
    // The log itself is unchanged: nothing rewritten, one audit event added.
    const audit = await collect(raw.readStream('security-audit'));
    expect(audit.map((e) => [e.type, e.data, e.metadata.actor])).toEqual([
      [
        SUBJECT_FORGOTTEN_EVENT,
        {
          subject: 'c-1',
          keyDestroyed: true,
          forgottenAt: expect.any(String) as string,
          reason: 'erasure request',
        },
        'dpo',
      ],
    ]);
    expect((await rawText(raw)).startsWith(before.slice(0, -1))).toBe(true);
    // Forgetting again destroys nothing more but is audited again.
    expect((await store.forgetSubject('c-1')).keyDestroyed).toBe(false);
  });

  it('refuses new personal data of a forgotten subject, and events missing a subject; nothing written', async () => {
    const { raw, store } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    await store.forgetSubject('c-1');
    const head = await raw.headPosition();
    await expect(
      store.append('customer-1', [registered('c-1', 'again@example.com')]),
    ).rejects.toBeInstanceOf(SubjectForgottenError);
    await expect(
      store.append('customer-3', [
        { type: 'customer.registered', data: { email: 'x@example.com' } },
      ]),
    ).rejects.toBeInstanceOf(EncryptionError);
    expect(await raw.headPosition()).toBe(head);
    // Errors name no personal value.
    const error = await store
      .append('customer-1', [registered('c-1', 'again@example.com')])
      .catch((e: unknown) => e as Error);
    expect(String((error as Error).message)).not.toContain('again@example.com');
  });

  it('notices a subject forgotten by another process once its cache expires', async () => {
    const clock = new ManualClock(0);
    const { raw, keyStore, store } = await setup({ clock, keyCacheMs: 1000 });
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const other = await encryptedEventStore(raw, { keyStore, masterKey: master, personal, clock });
    await other.forgetSubject('c-1');
    expect((await collect(store.readStream('customer-1')))[0]?.data).toMatchObject({
      email: 'ada@example.com',
    });
    clock.advance(1000);
    expect((await collect(store.readStream('customer-1')))[0]?.data).toMatchObject({
      email: REDACTED,
    });
  });

  it('shows personal fields as redacted to a view without decryption', async () => {
    const { store } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const [event] = await collect(store.withoutDecryption().readAll());
    expect(event?.data).toMatchObject({ email: REDACTED, plan: 'gold' });
  });

  it('fails fast on a wrong master key at start-up and writes nothing with it', async () => {
    const { raw, keyStore, store } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const head = await raw.headPosition();
    const keysBefore = await keyStore.list();
    const checksBefore = await keyStore.keyChecks();
    // Same id, other bytes.
    await expect(
      encryptedEventStore(raw, {
        keyStore,
        masterKey: { id: '2026-01', key: generateMasterKey('x').key },
        personal,
      }),
    ).rejects.toBeInstanceOf(WrongMasterKeyError);
    // Another id, with no previous key that matches.
    await expect(
      encryptedEventStore(raw, { keyStore, masterKey: generateMasterKey('2026-02'), personal }),
    ).rejects.toMatchObject({ code: 'WRONG_MASTER_KEY' });
    expect(await raw.headPosition()).toBe(head);
    expect(await keyStore.list()).toEqual(keysBefore);
    expect(await keyStore.keyChecks()).toEqual(checksBefore);
  });

  it('refuses malformed master keys and policies', async () => {
    const raw = new MemoryEventStore();
    cleanups.push(() => raw.close());
    const keyStore = new MemoryDataKeyStore();
    const bad: Partial<EncryptedEventStoreOptions>[] = [
      { masterKey: { id: 'k', key: 'c2hvcnQ=' } },
      { masterKey: { id: '', key: master.key } },
      { personal: { t: { subject: '$.id', fields: [] } } },
      { personal: { t: { subject: '$.id', fields: ['$.id'] } } },
      { personal: { t: { subject: '$.id', fields: ['$..x'] } } },
    ];
    for (const options of bad)
      await expect(
        encryptedEventStore(raw, { keyStore, masterKey: master, personal, ...options }),
      ).rejects.toBeInstanceOf(SecurityConfigError);
    expect(await keyStore.keyChecks()).toEqual([]);
  });

  it('rotates the master key: re-wraps every data key, then retires the old one', async () => {
    const { raw, keyStore, store } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    await store.append('customer-2', [registered('c-2', 'bob@example.com')]);
    const next = generateMasterKey('2026-02');
    const rotated = await encryptedEventStore(raw, {
      keyStore,
      masterKey: next,
      previousMasterKeys: [master],
      personal,
    });
    expect(await rotated.rotateMasterKey(1)).toBe(2);
    expect((await keyStore.list()).map((k) => k.masterKeyId)).toEqual(['2026-02', '2026-02']);
    await rotated.retireMasterKey('2026-01');
    // The new key alone now reads everything; the old key alone is refused.
    const fresh = await encryptedEventStore(raw, { keyStore, masterKey: next, personal });
    expect((await collect(fresh.readStream('customer-2')))[0]?.data).toMatchObject({
      email: 'bob@example.com',
    });
    await expect(
      encryptedEventStore(raw, { keyStore, masterKey: master, personal }),
    ).rejects.toBeInstanceOf(WrongMasterKeyError);
  });

  it('detects ciphertext moved between events or edited', async () => {
    const { raw, store, keyStore } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const [stored] = await collect(raw.readStream('customer-1'));
    // Re-append the same ciphertext under a new event id (as a copy attack would).
    await raw.append('customer-1', [
      { type: stored!.type, data: stored!.data, metadata: stored!.metadata },
    ]);
    await expect(collect(store.readStream('customer-1'))).rejects.toBeInstanceOf(DecryptionError);
    // Or, when asked, the field reads as redacted and is reported, so a projection goes on.
    const lenient = await encryptedEventStore(raw, {
      keyStore,
      masterKey: master,
      personal,
      onUndecryptable: 'redact',
    });
    const [original, copy] = await collect(lenient.readStream('customer-1'));
    expect(original?.data).toMatchObject({ email: 'ada@example.com' });
    expect(copy?.data).toMatchObject({ email: REDACTED, address: REDACTED, plan: 'gold' });
    expect(copy?.metadata.encryption).toMatchObject({ undecryptable: ['$.email', '$.address'] });
  });

  it('ignores encryption metadata supplied by the caller', async () => {
    const { raw, store } = await setup();
    await store.append('order-1', [
      {
        type: 'order.shipped',
        data: { note: 'plain' },
        metadata: { encryption: { v: 1, subject: 'c-1', fields: ['$.note'] } },
      },
    ]);
    expect((await collect(raw.readAll()))[0]?.metadata.encryption).toBeUndefined();
    expect((await collect(store.readAll()))[0]?.data).toEqual({ note: 'plain' });
  });

  it('encrypts appends made in a transaction', async () => {
    const { raw, store } = await setup();
    await store.transaction?.(async (tx) => {
      await tx.append('customer-1', [registered('c-1', 'ada@example.com')]);
    });
    expect(await rawText(raw)).not.toContain('ada@example.com');
    expect((await collect(store.readAll()))[0]?.data).toMatchObject({ email: 'ada@example.com' });
  });

  it('leaves no trace of a forgotten subject in a projection rebuilt afterwards', async () => {
    const { raw, store } = await setup();
    const profiles = defineProjection<DocumentReadModel>({
      name: 'customer-profiles',
      version: 1,
      handles: ['customer.registered'],
      setup: (rm) => void rm.collection(),
      apply: (event, rm) => {
        const data = event.data as {
          customerId: string;
          email: unknown;
          address: unknown;
          plan: string;
        };
        rm.collection().put(data.customerId, {
          email: data.email,
          address: data.address,
          plan: data.plan,
        });
      },
    });
    const projector = new Projector({
      store: memoryProjectionStore(raw),
      projections: [profiles],
      subscription: { source: store },
    });
    cleanups.push(() => projector.stop());
    await projector.start();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const { position } = await store.append('customer-2', [registered('c-2', 'bob@example.com')]);
    const dump = async () =>
      (
        await projector.query(
          'customer-profiles',
          (rm) =>
            rm
              .collection()
              .find()
              .map((d) => JSON.stringify(d)),
          {
            minPosition: position,
            timeoutMs: 10_000,
          },
        )
      ).data.join('\n');
    expect(await dump()).toContain('ada@example.com');

    await store.forgetSubject('c-1');
    await projector.rebuild('customer-profiles');
    await projector.switched('customer-profiles', { timeoutMs: 10_000 });
    const after = await dump();
    expect(after).not.toContain('ada@example.com');
    expect(after).not.toContain('ada@example.com street');
    expect(after).toContain('bob@example.com');
    const { data: ada } = await projector.query('customer-profiles', (rm) =>
      rm.collection().get('c-1'),
    );
    expect(ada).toEqual({ email: REDACTED, address: REDACTED, plan: 'gold' });
  });
});
