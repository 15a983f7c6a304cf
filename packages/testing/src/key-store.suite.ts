import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type DataKeyStore, type StoredDataKey } from '@causewayjs/core';

/** How the shared suite reaches one data key store adapter. */
export interface KeyStoreHarness {
  /** Opens a key store on this harness's database; may be called several times. */
  open(): Promise<DataKeyStore>;
  /** Closes what `open` opened and drops the database. Called after every test. */
  cleanup(): Promise<void>;
  /** True when two `open()` calls share data (durable adapters). */
  durable: boolean;
}

const at = (iso: string) => new Date(iso);

function key(subject: string, masterKeyId = 'm1', fill = 7): StoredDataKey {
  return {
    subject,
    masterKeyId,
    wrappedKey: Buffer.alloc(60, fill),
    createdAt: at('2026-03-01T12:00:00.250Z'),
  };
}

/**
 * The data key store contract, run against every adapter.
 *
 * @param makeHarness creates a fresh, empty database for one test.
 */
export function describeKeyStoreConformance(
  name: string,
  makeHarness: () => Promise<KeyStoreHarness>,
): void {
  describe(`DataKeyStore conformance: ${name}`, () => {
    let harness: KeyStoreHarness;
    let keys: DataKeyStore;

    beforeEach(async () => {
      harness = await makeHarness();
      keys = await harness.open();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('knows nothing of a subject that never had a key', async () => {
      expect(await keys.get('customer-1')).toBeUndefined();
    });

    it('creates a key and reads it back byte for byte', async () => {
      const created = await keys.create(key('customer-1'));
      const expected = { state: 'active', ...key('customer-1') };
      expect(normalise(created)).toEqual(normalise(expected));
      expect(normalise(await keys.get('customer-1'))).toEqual(normalise(expected));
    });

    it('keeps the first key when a second is created for the same subject', async () => {
      await keys.create(key('customer-1', 'm1', 1));
      const second = await keys.create(key('customer-1', 'm1', 2));
      expect(second.state === 'active' && Buffer.from(second.wrappedKey)[0]).toBe(1);
      const racing = await Promise.all([
        keys.create(key('c-2', 'm1', 3)),
        keys.create(key('c-2', 'm1', 4)),
      ]);
      const winners = racing.map((e) => (e.state === 'active' ? Buffer.from(e.wrappedKey)[0] : -1));
      expect(winners[0]).toBe(winners[1]);
    });

    it('forgets a subject: the key is gone, a tombstone stays, and no new key is made', async () => {
      await keys.create(key('customer-1'));
      expect(await keys.forget('customer-1', at('2026-04-01T00:00:00Z'))).toBe(true);
      expect(await keys.get('customer-1')).toEqual({
        state: 'forgotten',
        subject: 'customer-1',
        forgottenAt: at('2026-04-01T00:00:00Z'),
      });
      expect((await keys.create(key('customer-1'))).state).toBe('forgotten');
      // Idempotent: nothing more to destroy, and the first date stays.
      expect(await keys.forget('customer-1', at('2026-05-01T00:00:00Z'))).toBe(false);
      expect(await keys.get('customer-1')).toMatchObject({
        forgottenAt: at('2026-04-01T00:00:00Z'),
      });
      expect(await keys.list()).toEqual([]);
    });

    it('forgets a subject that never had a key, so none can be made later', async () => {
      expect(await keys.forget('nobody', at('2026-04-01T00:00:00Z'))).toBe(false);
      expect((await keys.create(key('nobody'))).state).toBe('forgotten');
    });

    it('lists live keys in subject order, in pages, optionally only other master keys', async () => {
      for (const s of ['c', 'a', 'd', 'b']) await keys.create(key(s, s === 'b' ? 'm2' : 'm1'));
      await keys.forget('d', at('2026-04-01T00:00:00Z'));
      expect((await keys.list()).map((k) => k.subject)).toEqual(['a', 'b', 'c']);
      expect((await keys.list({ limit: 2 })).map((k) => k.subject)).toEqual(['a', 'b']);
      expect((await keys.list({ after: 'b' })).map((k) => k.subject)).toEqual(['c']);
      expect((await keys.list({ excludeMasterKeyId: 'm1' })).map((k) => k.subject)).toEqual(['b']);
      await expect(keys.list({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('re-wraps a key only while it is still wrapped by the expected master key', async () => {
      await keys.create(key('a', 'm1'));
      expect(await keys.rewrap('a', 'm0', Buffer.alloc(60, 9), 'm2')).toBe(false);
      expect(await keys.rewrap('a', 'm1', Buffer.alloc(60, 9), 'm2')).toBe(true);
      const entry = await keys.get('a');
      expect(entry?.state === 'active' && entry.masterKeyId).toBe('m2');
      expect(entry?.state === 'active' && Buffer.from(entry.wrappedKey)).toEqual(
        Buffer.alloc(60, 9),
      );
      await keys.forget('a', at('2026-04-01T00:00:00Z'));
      expect(await keys.rewrap('a', 'm2', Buffer.alloc(60, 1), 'm3')).toBe(false);
      expect((await keys.get('a'))?.state).toBe('forgotten');
    });

    it('stores one key check per master key and removes it on request', async () => {
      expect(await keys.keyChecks()).toEqual([]);
      await keys.addKeyCheck({ masterKeyId: 'm1', value: Buffer.from('one') });
      await keys.addKeyCheck({ masterKeyId: 'm1', value: Buffer.from('other') });
      await keys.addKeyCheck({ masterKeyId: 'm2', value: Buffer.from('two') });
      const checks = (await keys.keyChecks()).map((c) => [
        c.masterKeyId,
        Buffer.from(c.value).toString(),
      ]);
      expect(checks.sort()).toEqual([
        ['m1', 'one'],
        ['m2', 'two'],
      ]);
      await keys.removeKeyCheck('m1');
      expect((await keys.keyChecks()).map((c) => c.masterKeyId)).toEqual(['m2']);
    });

    it('refuses malformed subjects and keys without writing', async () => {
      await expect(keys.get('')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(
        keys.create({ ...key('x'), wrappedKey: new Uint8Array() }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(keys.create({ ...key('x'), subject: 'x'.repeat(201) })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      expect(await keys.get('x')).toBeUndefined();
    });

    it('shares keys and tombstones between connections when durable', async () => {
      if (!harness.durable) return;
      await keys.create(key('a'));
      await keys.forget('b', at('2026-04-01T00:00:00Z'));
      const other = await harness.open();
      expect((await other.get('a'))?.state).toBe('active');
      expect((await other.get('b'))?.state).toBe('forgotten');
    });
  });
}

function normalise(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null) return entry;
  const e = entry as Record<string, unknown>;
  return e.wrappedKey instanceof Uint8Array
    ? { ...e, wrappedKey: Buffer.from(e.wrappedKey).toString('hex') }
    : e;
}
