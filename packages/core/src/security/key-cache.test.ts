import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { EventInput, RecordedEvent } from '../core/envelope.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import {
  encryptedEventStore,
  REDACTED,
  type EncryptedEventStoreOptions,
} from './encrypted-event-store.js';
import { generateMasterKey } from './master-key.js';
import { MemoryDataKeyStore } from './memory-data-key-store.js';
import { DecryptionError } from './security-errors.js';

const master = generateMasterKey('2026-01');
const personal = {
  'customer.registered': { subject: '$.customerId', fields: ['$.email', '$.name'] },
};

const registered = (customerId: string): EventInput => ({
  type: 'customer.registered',
  data: { customerId, email: `${customerId}@example.com`, name: `Name ${customerId}`, n: 1 },
});

async function read(store: { readAll(): AsyncIterable<RecordedEvent> }): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

describe('the data key cache', () => {
  const stores: MemoryEventStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  /** Two "processes": two encrypted stores over the same events and keys, one clock. */
  async function twoProcesses(options: Partial<EncryptedEventStoreOptions> = {}) {
    const raw = new MemoryEventStore();
    stores.push(raw);
    const keyStore = new MemoryDataKeyStore();
    const clock = new ManualClock(0);
    const base = { keyStore, masterKey: master, personal, clock, ...options };
    const here = await encryptedEventStore(raw, base);
    const elsewhere = await encryptedEventStore(raw, base);
    return { raw, keyStore, clock, here, elsewhere };
  }

  it('reads a subject forgotten in this process as redacted at once, however long keys are cached', async () => {
    const { here } = await twoProcesses({ keyCacheMs: 3_600_000 });
    await here.append('customer-1', [registered('c-1')]);
    expect((await read(here))[0]?.data).toMatchObject({ email: 'c-1@example.com' });
    await here.forgetSubject('c-1');
    const [event] = (await read(here)).filter((e) => e.type === 'customer.registered');
    expect(event?.data).toMatchObject({ email: REDACTED, name: REDACTED, n: 1 });
    expect(event?.metadata.encryption).toMatchObject({ redacted: true });
  });

  it('keeps decrypting in another process until the cached key reaches its max age, then reads it as redacted', async () => {
    const { here, elsewhere, clock } = await twoProcesses({ keyCacheMs: 60_000 });
    await here.append('customer-1', [registered('c-1')]);
    // The other process reads (and caches the key) at t = 0.
    expect((await read(elsewhere))[0]?.data).toMatchObject({ name: 'Name c-1' });
    await here.forgetSubject('c-1');
    const customer = async () =>
      (await elsewhere.readStream('customer-1')[Symbol.asyncIterator]().next()).value as
        RecordedEvent | undefined;
    clock.advance(59_999);
    // The documented window: the key, fetched 59.999 s ago, is still used.
    expect((await customer())?.data).toMatchObject({ name: 'Name c-1' });
    clock.advance(1);
    expect((await customer())?.data).toMatchObject({ name: REDACTED, email: REDACTED });
  });

  it('with keyCacheMs 0 asks the key store on every read, so a forget elsewhere shows at once', async () => {
    const { here, elsewhere } = await twoProcesses({ keyCacheMs: 0 });
    await here.append('customer-1', [registered('c-1')]);
    expect((await read(elsewhere))[0]?.data).toMatchObject({ name: 'Name c-1' });
    await here.forgetSubject('c-1');
    expect((await read(elsewhere))[0]?.data).toMatchObject({ name: REDACTED });
  });

  it('holds at most keyCacheSize keys, dropping the one fetched longest ago', async () => {
    const { here, elsewhere, keyStore } = await twoProcesses({
      keyCacheMs: 3_600_000,
      keyCacheSize: 2,
    });
    for (const c of ['c-1', 'c-2', 'c-3']) await here.append(`customer-${c}`, [registered(c)]);
    let gets = 0;
    const get = keyStore.get.bind(keyStore);
    keyStore.get = (subject) => {
      gets += 1;
      return get(subject);
    };
    await read(elsewhere); // c-1, c-2, c-3 fetched: c-1 dropped
    expect(gets).toBe(3);
    await read({ readAll: () => elsewhere.readStream('customer-c-3') });
    await read({ readAll: () => elsewhere.readStream('customer-c-2') });
    expect(gets).toBe(3); // both still cached
    await read({ readAll: () => elsewhere.readStream('customer-c-1') });
    expect(gets).toBe(4); // fetched again
  });

  it('seals all personal fields of an event once, bound to the event and the field list', async () => {
    const { raw, here } = await twoProcesses();
    await here.append('customer-1', [registered('c-1'), registered('c-1')]);
    const [first, second] = await read(raw);
    expect(first?.metadata.encryption).toEqual({
      v: 2,
      subject: 'c-1',
      fields: ['$.email', '$.name'],
    });
    const sealed = (first?.data as { email: string }).email;
    expect(sealed).toMatch(/^cw2:./);
    expect(JSON.stringify(first?.data)).not.toContain('example.com');
    // The seal of one event copied into another does not open there.
    await raw.append('customer-2', [
      {
        type: 'customer.registered',
        data: { ...(second!.data as object), email: sealed },
        metadata: second!.metadata,
      },
    ]);
    await expect(
      (async () => {
        for await (const _ of here.readStream('customer-2'));
      })(),
    ).rejects.toBeInstanceOf(DecryptionError);
  });

  it('with onUndecryptable redact, lists every field of a seal that does not open', async () => {
    const { raw, here } = await twoProcesses({ onUndecryptable: 'redact' });
    await here.append('customer-1', [registered('c-1')]);
    const [stored] = await read(raw);
    const info = stored!.metadata.encryption as { fields: string[] };
    // The field list edited in the stored metadata: the seal is bound to it.
    await raw.append('customer-2', [
      {
        type: 'customer.registered',
        data: stored!.data,
        metadata: { encryption: { ...info, fields: ['$.email', '$.n'] } },
      },
    ]);
    const [event] = await read({ readAll: () => here.readStream('customer-2') });
    expect(event?.data).toMatchObject({ email: REDACTED, n: REDACTED, name: 'cw2:' });
    expect(event?.metadata.encryption).toMatchObject({ undecryptable: ['$.email', '$.n'] });
  });
});
