/**
 * Where the data keys of encrypted personal fields live: one key per subject, stored wrapped
 * (encrypted) by a master key, in the same database as the events. Every adapter (memory,
 * SQLite, PostgreSQL) implements it and passes `src/testing/key-store.suite.ts`.
 */

/** A subject's data key, wrapped by a master key. */
export interface StoredDataKey {
  /** The subject (a customer id, say) whose personal fields the key protects. */
  subject: string;
  /** Id of the master key that wrapped it. */
  masterKeyId: string;
  /** The data key, encrypted and authenticated by the master key. */
  wrappedKey: Uint8Array;
  createdAt: Date;
}

/** What the store knows of a subject: a live key, or the tombstone of a forgotten one. */
export type DataKeyEntry =
  | ({ state: 'active' } & StoredDataKey)
  | { state: 'forgotten'; subject: string; forgottenAt: Date };

/** A value only the right master key decrypts, stored to check the key at start-up. */
export interface KeyCheck {
  masterKeyId: string;
  value: Uint8Array;
}

/** Options of {@link DataKeyStore.list}. */
export interface ListDataKeysOptions {
  /** Only subjects after this one (exclusive), for paging. */
  after?: string;
  /** At most this many (default 1,000). */
  limit?: number;
  /** Only keys wrapped by a master key other than this one (those to re-wrap in a rotation). */
  excludeMasterKeyId?: string;
}

/** The data key store port. */
export interface DataKeyStore {
  /** The subject's entry, or `undefined` when it never had a key. */
  get(subject: string): Promise<DataKeyEntry | undefined>;
  /**
   * Stores `key` unless the subject already has an entry (live or forgotten), and returns the
   * entry that holds afterwards: of two concurrent creators, both get the winner's key.
   */
  create(key: StoredDataKey): Promise<DataKeyEntry>;
  /**
   * Destroys the subject's key material and leaves a tombstone, so its ciphertext can never be
   * read again and no new key is made for it. Idempotent; true when a key was destroyed now.
   */
  forget(subject: string, at: Date): Promise<boolean>;
  /**
   * Replaces the subject's wrapped key if it is still wrapped by `fromMasterKeyId` (master key
   * rotation). True when replaced.
   */
  rewrap(
    subject: string,
    fromMasterKeyId: string,
    wrappedKey: Uint8Array,
    masterKeyId: string,
  ): Promise<boolean>;
  /** Live keys in subject order. */
  list(options?: ListDataKeysOptions): Promise<StoredDataKey[]>;
  /** Every stored key check. */
  keyChecks(): Promise<KeyCheck[]>;
  /** Stores a key check unless one exists for its master key id. */
  addKeyCheck(check: KeyCheck): Promise<void>;
  /** Removes a retired master key's check. */
  removeKeyCheck(masterKeyId: string): Promise<void>;
  /** Releases what the store holds (a shared connection stays open). */
  close(): Promise<void>;
}
