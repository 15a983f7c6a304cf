import { createSecretKey, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventInput, RecordedEvent } from '../core/envelope.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import { encryptedEventStore, REDACTED } from './encrypted-event-store.js';
import { fieldValue, MISSING } from './field-paths.js';
import {
  generateMasterKey,
  openBase64Text,
  parseMasterKey,
  seal,
  unwrapDataKey,
} from './master-key.js';
import { MemoryDataKeyStore } from './memory-data-key-store.js';
import { DecryptionError } from './security-errors.js';

const master = generateMasterKey('2026-01');
const personal = {
  // Two personal fields: one seal per event (version 2). The second name is not ASCII, so the
  // bound field list takes more UTF-8 bytes than characters.
  'customer.registered': { subject: '$.customerId', fields: ['$.email', '$.straße'] },
  // One personal field: sealed alone (version 1).
  'customer.renamed': { subject: '$.customerId', fields: ['$.name'] },
};

const registered = (customerId: string, email: string, street = 'Hauptstraße 1'): EventInput => ({
  type: 'customer.registered',
  data: { customerId, email, straße: street, n: 1 },
});
const renamed = (customerId: string, name: string): EventInput => ({
  type: 'customer.renamed',
  data: { customerId, name },
});

async function read(events: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** The stored (sealed) text of `field` in `event`. */
const storedText = (event: RecordedEvent | undefined, field: string): string =>
  (event?.data as Record<string, string>)[field] as string;

/** `text` with the base64 character at `index` changed (so one stored byte differs). */
function flip(text: string, index: number): string {
  const swapped = text[index] === 'A' ? 'B' : 'A';
  return text.slice(0, index) + swapped + text.slice(index + 1);
}

describe('decrypting reads', () => {
  const stores: MemoryEventStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  async function setup(options: { onUndecryptable?: 'throw' | 'redact' } = {}) {
    const raw = new MemoryEventStore();
    stores.push(raw);
    const keyStore = new MemoryDataKeyStore();
    const store = await encryptedEventStore(raw, {
      keyStore,
      masterKey: master,
      personal,
      ...options,
    });
    /** The subject's data key, unwrapped as the store does (to write events by hand). */
    const dataKey = async (subject: string): Promise<KeyObject> => {
      const entry = await keyStore.get(subject);
      if (entry?.state !== 'active') throw new Error(`no key for ${subject}`);
      const key = unwrapDataKey(parseMasterKey(master), subject, entry.wrappedKey);
      if (!key) throw new Error('does not unwrap');
      return createSecretKey(key);
    };
    return { raw, store, keyStore, dataKey };
  }

  it('reads both formats back: one seal per event (cw2) and one per field (v1)', async () => {
    const { raw, store } = await setup();
    await store.append('customer-1', [
      registered('c-1', 'ada@example.com'),
      renamed('c-1', 'Ada Lovelace ✓'),
    ]);
    const [sealed, single] = await read(raw.readAll());
    expect(sealed?.metadata.encryption).toMatchObject({ v: 2 });
    expect(storedText(sealed, 'email')).toMatch(/^cw2:/);
    expect(storedText(sealed, 'straße')).toBe('cw2:');
    expect(single?.metadata.encryption).toMatchObject({ v: 1 });
    expect(storedText(single, 'name')).toMatch(/^cw1:/);

    const [first, second] = await read(store.readAll());
    expect(first?.data).toEqual({
      customerId: 'c-1',
      email: 'ada@example.com',
      straße: 'Hauptstraße 1',
      n: 1,
    });
    expect(second?.data).toEqual({ customerId: 'c-1', name: 'Ada Lovelace ✓' });
    // The decrypted event is a plain object: spread and JSON show the plaintext.
    expect(JSON.stringify(first)).toContain('ada@example.com');
    expect({ ...(second?.data as object) }).toMatchObject({ name: 'Ada Lovelace ✓' });
  });

  it('reads a version 1 event whose fields were each sealed alone (written before version 2)', async () => {
    const { raw, store, dataKey } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const key = await dataKey('c-1');
    const id = '01900000-0000-7000-8000-000000000001';
    const sealField = (field: string, value: unknown) =>
      `cw1:${seal(key, Buffer.from(JSON.stringify(value), 'utf8'), `${id}\n${field}`).toString('base64')}`;
    await raw.append('customer-2', [
      {
        id,
        type: 'customer.registered',
        data: {
          customerId: 'c-1',
          email: sealField('$.email', 'old@example.com'),
          straße: sealField('$.straße', { line: 'Ringstraße 2' }),
        },
        metadata: { encryption: { v: 1, subject: 'c-1', fields: ['$.email', '$.straße'] } },
      },
    ]);
    const [event] = await read(store.readStream('customer-2'));
    expect(event?.data).toEqual({
      customerId: 'c-1',
      email: 'old@example.com',
      straße: { line: 'Ringstraße 2' },
    });
  });

  it('reads fields larger than the shared decoding buffer, between small ones, in both formats', async () => {
    const { store } = await setup();
    const big = 'x'.repeat(40_000) + 'é';
    await store.append('customer-1', [
      registered('c-1', 'a@example.com'),
      registered('c-2', big, big),
      renamed('c-3', big),
      registered('c-4', 'd@example.com'),
      renamed('c-5', 'E'),
    ]);
    const events = await read(store.readAll());
    expect(
      events.map(
        (e) =>
          (e.data as { email?: string; name?: string }).email ?? (e.data as { name: string }).name,
      ),
    ).toEqual(['a@example.com', big, big, 'd@example.com', 'E']);
    expect((events[1]?.data as { straße: string }).straße).toBe(big);
  });

  it('refuses a tampered seal (IV, tag, ciphertext, truncated, not base64) in both formats', async () => {
    const { raw, store, keyStore } = await setup();
    await store.append('customer-1', [registered('c-1', 'ada@example.com'), renamed('c-1', 'Ada')]);
    const [sealed, single] = await read(raw.readAll());
    /** A copy of the log holding `event` alone, as stored, with `field` set to `text`. */
    const copyWith = async (event: RecordedEvent, field: string, text: string) => {
      const copy = new MemoryEventStore();
      stores.push(copy);
      await copy.append(event.stream, [
        {
          id: event.id,
          type: event.type,
          data: { ...(event.data as object), [field]: text },
          metadata: event.metadata,
        },
      ]);
      return encryptedEventStore(copy, { keyStore, masterKey: master, personal });
    };
    for (const [event, field, value] of [
      [sealed!, 'email', 'ada@example.com'],
      [single!, 'name', 'Ada'],
    ] as const) {
      const text = storedText(event, field);
      // Untouched, the copy opens (same id, same key): what fails below is the tampering.
      const [intact] = await read((await copyWith(event, field, text)).readAll());
      expect((intact?.data as Record<string, unknown>)[field]).toBe(value);
      for (const tampered of [
        flip(text, 6), // the IV
        flip(text, 4 + 20), // the tag
        flip(text, text.length - 8), // the ciphertext
        text.slice(0, 4 + 36), // shorter than IV and tag
        `${text.slice(0, 4)}!!not base64!!`,
      ]) {
        const copy = await copyWith(event, field, tampered);
        await expect(read(copy.readAll())).rejects.toBeInstanceOf(DecryptionError);
      }
    }
  });

  it('redacts a tampered seal when asked, and goes on with the next events', async () => {
    const { raw, store } = await setup({ onUndecryptable: 'redact' });
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    const [stored] = await read(raw.readAll());
    const text = storedText(stored, 'email');
    await raw.append('customer-1', [
      {
        type: stored!.type,
        data: { ...(stored!.data as object), email: flip(text, text.length - 8) },
        metadata: stored!.metadata,
      },
    ]);
    await store.append('customer-1', [registered('c-1', 'ada2@example.com')]);
    const events = await read(store.readStream('customer-1'));
    expect(events.map((e) => e.data)).toMatchObject([
      { email: 'ada@example.com', straße: 'Hauptstraße 1' },
      { email: REDACTED, straße: REDACTED, n: 1 },
      { email: 'ada2@example.com' },
    ]);
    expect(events[1]?.metadata.encryption).toMatchObject({
      undecryptable: ['$.email', '$.straße'],
    });
  });

  it('reads a forgotten subject as redacted among subjects still decrypting, in both formats', async () => {
    const { store } = await setup();
    for (let n = 0; n < 30; n++)
      await store.append(`customer-${n % 3}`, [
        registered(`c-${n % 3}`, `c${n}@example.com`),
        renamed(`c-${n % 3}`, `Name ${n}`),
      ]);
    await store.forgetSubject('c-1');
    const events = (await read(store.readAll())).filter((e) => e.type.startsWith('customer.'));
    expect(events).toHaveLength(60);
    for (const event of events) {
      const data = event.data as Record<string, unknown>;
      const forgotten = data.customerId === 'c-1';
      if (event.type === 'customer.registered') {
        expect(data.email).toEqual(forgotten ? REDACTED : expect.stringMatching(/@example\.com$/));
        expect(data.straße).toBe(forgotten ? REDACTED : 'Hauptstraße 1');
      } else expect(data.name).toEqual(forgotten ? REDACTED : expect.stringMatching(/^Name /));
      expect(event.metadata.encryption).toMatchObject(forgotten ? { redacted: true } : {});
      if (!forgotten) expect(event.metadata.encryption).not.toHaveProperty('redacted');
    }
    // A view without decryption redacts every subject alike.
    const hidden = await read(store.withoutDecryption().readAll());
    expect(hidden.some((e) => JSON.stringify(e.data).includes('@example.com'))).toBe(false);
  });
});

describe('openBase64Text', () => {
  const key = createSecretKey(Buffer.alloc(32, 7));
  const other = createSecretKey(Buffer.alloc(32, 8));
  const sealText = (text: string, aad: string) =>
    `pre:${seal(key, Buffer.from(text, 'utf8'), aad).toString('base64')}`;

  it('opens what seal made, from an offset in the stored text, small or large', () => {
    for (const text of ['', '"a"', '["é ✓ 𝄞", 1]', 'y'.repeat(50_000)]) {
      const stored = sealText(text, 'aad ✓');
      expect(openBase64Text(key, stored, 4, 'aad ✓')).toBe(text);
      expect(openBase64Text(key, stored.slice(4), 0, 'aad ✓')).toBe(text);
    }
  });

  it('does not open with another key, another AAD, or altered or short text', () => {
    const stored = sealText('"secret"', 'bound');
    expect(openBase64Text(other, stored, 4, 'bound')).toBeUndefined();
    expect(openBase64Text(key, stored, 4, 'bound!')).toBeUndefined();
    expect(openBase64Text(key, stored, 4, 'x'.repeat(20_000))).toBeUndefined();
    expect(openBase64Text(key, flip(stored, stored.length - 8), 4, 'bound')).toBeUndefined();
    expect(openBase64Text(key, stored.slice(0, 30), 4, 'bound')).toBeUndefined();
    expect(openBase64Text(key, 'pre:', 4, 'bound')).toBeUndefined();
    // A failed open leaves nothing behind that a later one would read.
    expect(openBase64Text(key, stored, 4, 'bound')).toBe('"secret"');
  });
});

describe('fieldValue', () => {
  it('finds own fields along a path, and MISSING for anything else', () => {
    const data = { a: { b: null, c: [1] }, u: undefined };
    expect(fieldValue(data, ['a', 'b'])).toBeNull();
    expect(fieldValue(data, ['u'])).toBeUndefined();
    expect(fieldValue(data, ['a', 'c'])).toEqual([1]);
    expect(fieldValue(data, ['a', 'c', '0'])).toBe(MISSING);
    expect(fieldValue(data, ['a', 'b', 'x'])).toBe(MISSING);
    expect(fieldValue(data, ['toString'])).toBe(MISSING);
    expect(fieldValue('text', ['length'])).toBe(MISSING);
    expect(fieldValue(data, ['z'])).toBe(MISSING);
  });
});
