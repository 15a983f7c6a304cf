import { InvalidArgumentError, StoreClosedError } from '../core/errors.js';
import type {
  DataKeyEntry,
  DataKeyStore,
  KeyCheck,
  ListDataKeysOptions,
  StoredDataKey,
} from './data-key-store.js';

/**
 * Data keys in process memory: for tests and the in-memory event store. Forgetting a subject
 * drops the only copy of its key.
 */
export class MemoryDataKeyStore implements DataKeyStore {
  private readonly entries = new Map<string, DataKeyEntry>();
  private readonly checks = new Map<string, KeyCheck>();
  private closed = false;

  get(subject: string): Promise<DataKeyEntry | undefined> {
    return this.run(() => {
      assertSubject(subject);
      return copy(this.entries.get(subject));
    });
  }

  create(key: StoredDataKey): Promise<DataKeyEntry> {
    return this.run(() => {
      assertKey(key);
      const existing = this.entries.get(key.subject);
      if (existing) return copy(existing) as DataKeyEntry;
      const entry: DataKeyEntry = {
        state: 'active',
        ...key,
        wrappedKey: Buffer.from(key.wrappedKey),
      };
      this.entries.set(key.subject, entry);
      return copy(entry) as DataKeyEntry;
    });
  }

  forget(subject: string, at: Date): Promise<boolean> {
    return this.run(() => {
      assertSubject(subject);
      const existing = this.entries.get(subject);
      if (existing?.state === 'forgotten') return false;
      if (existing) existing.wrappedKey.fill(0);
      this.entries.set(subject, { state: 'forgotten', subject, forgottenAt: new Date(at) });
      return existing !== undefined;
    });
  }

  rewrap(
    subject: string,
    fromMasterKeyId: string,
    wrappedKey: Uint8Array,
    masterKeyId: string,
  ): Promise<boolean> {
    return this.run(() => {
      assertSubject(subject);
      const existing = this.entries.get(subject);
      if (existing?.state !== 'active' || existing.masterKeyId !== fromMasterKeyId) return false;
      this.entries.set(subject, { ...existing, masterKeyId, wrappedKey: Buffer.from(wrappedKey) });
      return true;
    });
  }

  list(options: ListDataKeysOptions = {}): Promise<StoredDataKey[]> {
    return this.run(() => {
      const limit = options.limit ?? 1000;
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new InvalidArgumentError('limit', 'must be an integer >= 1');
      return [...this.entries.values()]
        .filter(
          (e): e is Extract<DataKeyEntry, { state: 'active' }> =>
            e.state === 'active' &&
            (options.after === undefined || e.subject > options.after) &&
            e.masterKeyId !== options.excludeMasterKeyId,
        )
        .sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0))
        .slice(0, limit)
        .map((e) => ({
          subject: e.subject,
          masterKeyId: e.masterKeyId,
          wrappedKey: Buffer.from(e.wrappedKey),
          createdAt: new Date(e.createdAt),
        }));
    });
  }

  keyChecks(): Promise<KeyCheck[]> {
    return this.run(() =>
      [...this.checks.values()].map((c) => ({
        masterKeyId: c.masterKeyId,
        value: Buffer.from(c.value),
      })),
    );
  }

  addKeyCheck(check: KeyCheck): Promise<void> {
    return this.run(() => {
      if (!this.checks.has(check.masterKeyId))
        this.checks.set(check.masterKeyId, {
          masterKeyId: check.masterKeyId,
          value: Buffer.from(check.value),
        });
    });
  }

  removeKeyCheck(masterKeyId: string): Promise<void> {
    return this.run(() => {
      this.checks.delete(masterKeyId);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private run<T>(work: () => T): Promise<T> {
    return new Promise((resolve) => {
      if (this.closed) throw new StoreClosedError();
      resolve(work());
    });
  }
}

/** Throws unless `subject` is a usable subject id (a non-empty string of at most 200 characters). */
export function assertSubject(subject: unknown): asserts subject is string {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 200)
    throw new InvalidArgumentError('subject', 'must be a string of 1-200 characters');
}

/** Throws unless `key` is a well-formed {@link StoredDataKey}. */
export function assertKey(key: StoredDataKey): void {
  if (typeof key !== 'object' || key === null)
    throw new InvalidArgumentError('key', 'must be an object');
  assertSubject(key.subject);
  if (typeof key.masterKeyId !== 'string' || key.masterKeyId === '')
    throw new InvalidArgumentError('masterKeyId', 'must be a non-empty string');
  if (!(key.wrappedKey instanceof Uint8Array) || key.wrappedKey.length === 0)
    throw new InvalidArgumentError('wrappedKey', 'must be non-empty bytes');
  if (!(key.createdAt instanceof Date) || Number.isNaN(key.createdAt.getTime()))
    throw new InvalidArgumentError('createdAt', 'must be a valid Date');
}

function copy(entry: DataKeyEntry | undefined): DataKeyEntry | undefined {
  if (!entry) return undefined;
  if (entry.state === 'forgotten') return { ...entry, forgottenAt: new Date(entry.forgottenAt) };
  return {
    ...entry,
    wrappedKey: Buffer.from(entry.wrappedKey),
    createdAt: new Date(entry.createdAt),
  };
}
