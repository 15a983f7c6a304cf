import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../core/clock.js';
import type { EventInput, RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { encodeJson } from '../core/json-codec.js';
import type { ForgottenSubjects } from '../domain/forgotten-subjects.js';
import type { SnapshotStore } from '../domain/snapshot-store.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  ReadAllOptions,
  ReadStreamOptions,
  StoreTransaction,
  TransactionalEventStore,
} from '../store/event-store.js';
import type { DataKeyStore, StoredDataKey } from './data-key-store.js';
import {
  formatFieldPath,
  fieldValue,
  getField,
  MISSING,
  parseFieldPath,
  setField,
  setFields,
  type FieldPath,
} from './field-paths.js';
import {
  ForwardingEventStore,
  isList,
  type AppendTarget,
} from '../store/forwarding-event-store.js';
import {
  makeKeyCheck,
  matchesKeyCheck,
  openBase64Text,
  parseMasterKey,
  seal,
  unwrapDataKey,
  wrapDataKey,
  type MasterKey,
  type MasterKeyConfig,
} from './master-key.js';
import { assertSubject } from './memory-data-key-store.js';
import {
  erasableTexts,
  SUBJECT_FORGOTTEN_EVENT,
  type SubjectEraser,
  type SubjectForgottenData,
} from './subject-eraser.js';
import {
  DecryptionError,
  EncryptionError,
  MasterKeyUnavailableError,
  SecurityConfigError,
  SubjectForgottenError,
  WrongMasterKeyError,
} from './security-errors.js';

/** What a personal field reads as once its subject is forgotten (or to callers not allowed). */
export const REDACTED = '[redacted]';

/** Prefix of an encrypted field value: version 1, AES-256-GCM, one seal per field. */
const CIPHER_PREFIX = 'cw1:';

/**
 * Prefix of the fields of a version 2 event: AES-256-GCM, one seal for all of the event's
 * personal fields (a JSON array of their values, in the order `metadata.encryption.fields`
 * lists them). The first field holds the sealed text after the prefix; the others hold the
 * prefix alone. One seal per event rather than per field: opening a seal costs far more
 * (cipher set-up) than the few bytes it decrypts.
 */
const SEALED_PREFIX = 'cw2:';

/** Default of {@link EncryptedEventStoreOptions.keyCacheMs}. */
export const DEFAULT_KEY_CACHE_MS = 10_000;

/** Default of {@link EncryptedEventStoreOptions.keyCacheSize}. */
export const DEFAULT_KEY_CACHE_SIZE = 10_000;

export { SUBJECT_FORGOTTEN_EVENT };

/** Which fields of one event type are personal, and whose they are. */
export interface PersonalDataPolicy {
  /**
   * The subject the fields belong to: a field path into the data (`$.customerId`) or a
   * function of the event. Its data key encrypts them. Use an opaque id, not an e-mail: the
   * subject is stored in clear (in metadata and the key store).
   */
  subject: string | ((event: EventInput) => unknown);
  /** Paths of the personal fields (`$.email`, `$.address`). Absent fields are skipped. */
  fields: readonly string[];
}

/** Options of {@link encryptedEventStore}. */
export interface EncryptedEventStoreOptions {
  /** Where data keys live: the same database as the events. */
  keyStore: DataKeyStore;
  /** The master key that wraps new data keys. */
  masterKey: MasterKeyConfig | MasterKey;
  /** Older master keys, still able to unwrap data keys until {@link EncryptedEventStore.rotateMasterKey}. */
  previousMasterKeys?: readonly (MasterKeyConfig | MasterKey)[];
  /** Personal fields by event type. */
  personal: Readonly<Record<string, PersonalDataPolicy>>;
  /** What a redacted field reads as. Default {@link REDACTED}. */
  redaction?: unknown;
  /** Stream receiving `subject.forgotten` audit events. Default `security-audit`. */
  auditStream?: string;
  /**
   * The snapshot stores whose snapshots may hold decrypted personal data (a command
   * handler's, whose states are folded from events read through this store):
   * {@link EncryptedEventStore.forgetSubject} deletes the forgotten subject's snapshots from
   * each. Without it a command handler still never serves them (it checks the subjects a
   * snapshot records), but their plaintext stays in the table until a load meets them.
   */
  snapshots?: SnapshotStore | readonly SnapshotStore[];
  /**
   * Where copies of personal data made by consumers are erased (saga state, outboxes,
   * stream-job state, parked events, read models): {@link EncryptedEventStore.forgetSubject}
   * collects the subject's decrypted personal values and has each eraser overwrite them
   * with the redaction. `stackBackend` passes the backend's own (`Backend.subjectEraser()`).
   */
  erasers?: SubjectEraser | readonly SubjectEraser[];
  /**
   * How long an unwrapped data key (or a forgotten subject's tombstone) is kept in memory
   * after it was read from the key store, in ms (default 10 s;
   * 0 disables the cache: every read asks the key store). A forget made through this store
   * evicts the key at once; a forget made by another process is noticed here only once the
   * cached key is older than this, or when a read meets its `subject.forgotten` event: until
   * then this process still decrypts the subject's fields.
   */
  keyCacheMs?: number;
  /**
   * How many subjects' keys the cache holds at most (default 10,000);
   * past it, the key fetched longest ago is dropped first.
   */
  keyCacheSize?: number;
  /**
   * What a read does with a field that does not decrypt (tampered ciphertext, or ciphertext
   * copied from another event): `'throw'` a {@link DecryptionError} (default: loud), or
   * `'redact'` it and list it in `metadata.encryption.undecryptable`, so one bad event
   * cannot stop a projection.
   */
  onUndecryptable?: 'throw' | 'redact';
  clock?: Clock;
}

/** What `metadata.encryption` holds on an event with encrypted fields. */
export interface EncryptionMetadata {
  /** 1: each field sealed on its own (one field, or written before version 2); 2: one seal per event. */
  v: 1 | 2;
  subject: string;
  /** Paths of the fields encrypted. */
  fields: string[];
  /** Set on read when the fields could not be decrypted (forgotten subject, or not allowed). */
  redacted?: true;
  /** Set on read (with `onUndecryptable: 'redact'`): fields whose ciphertext did not decrypt. */
  undecryptable?: string[];
}

/** Result of {@link EncryptedEventStore.forgetSubject}. */
export interface ForgetResult {
  /** True when a key was destroyed by this call (false: none, or already forgotten). */
  keyDestroyed: boolean;
  /** Position of the `subject.forgotten` audit event. */
  position: number;
  /** Snapshots deleted from the configured snapshot stores (0 without any). */
  snapshotsDeleted: number;
  /** Rows of stored copies the configured erasers changed (0 without any). */
  copiesErased: number;
}

interface CompiledPolicy {
  subject: (event: EventInput) => unknown;
  fields: FieldPath[];
}

interface Shared {
  keyStore: DataKeyStore;
  current: MasterKey;
  masters: Map<string, MasterKey>;
  policies: Map<string, CompiledPolicy>;
  redaction: unknown;
  auditStream: string;
  snapshots: readonly Pick<SnapshotStore, 'deleteBySubject'>[];
  erasers: readonly SubjectEraser[];
  keyCacheMs: number;
  keyCacheSize: number;
  onUndecryptable: 'throw' | 'redact';
  clock: Clock;
  /**
   * Unwrapped keys (null: forgotten) as key objects made once (so no cipher imports the raw
   * key again), with when they were fetched; in the order fetched, oldest first.
   */
  cache: Map<string, { key: KeyObject | null; at: number }>;
}

/**
 * Wraps `store` so fields marked personal are encrypted at rest (AES-256-GCM) with a data key
 * per subject, kept wrapped by the master key in `keyStore`, and decrypted on read. Checks the
 * master key against the key check stored with the data keys first and fails fast
 * ({@link WrongMasterKeyError}) before anything is written when it does not match.
 *
 * Compose it outside {@link integrityEventStore} (`encryptedEventStore(integrityEventStore(raw))`)
 * so hash chains cover the ciphertext and forgetting a subject never breaks them.
 *
 * @example
 * ```ts
 * const keyStore = SqliteKeyStore.open(raw);
 * const store = await encryptedEventStore(raw, {
 *   keyStore,
 *   masterKey: { id: '2026-01', key: process.env.MASTER_KEY! },
 *   personal: { 'customer.registered': { subject: '$.customerId', fields: ['$.email', '$.name'] } },
 *   snapshots: SqliteSnapshotStore.open(raw), // forgetting drops the subject's snapshots too
 * });
 * await store.forgetSubject('customer-7');
 * ```
 */
export async function encryptedEventStore<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
  options: EncryptedEventStoreOptions,
): Promise<EncryptedEventStore<Tx>> {
  const shared = compile(options);
  await checkMasterKeys(shared, options);
  return new EncryptedEventStore(store, shared, true);
}

/**
 * The store returned by {@link encryptedEventStore}. It is the `ForgottenSubjects` a command
 * handler reading through it asks before serving a snapshot.
 */
export class EncryptedEventStore<Tx extends StoreTransaction = StoreTransaction>
  extends ForwardingEventStore<Tx>
  implements ForgottenSubjects
{
  /** @internal use {@link encryptedEventStore}. */
  constructor(
    inner: TransactionalEventStore<Tx>,
    private readonly shared: Shared,
    /** False: personal fields read as redacted (a view for callers not allowed to see them). */
    readonly reveals: boolean,
  ) {
    super(inner);
  }

  /** A view of the same store whose reads never decrypt: personal fields read as redacted. */
  withoutDecryption(): EncryptedEventStore<Tx> {
    return new EncryptedEventStore(this.inner, this.shared, false);
  }

  protected override async writeAppend(
    to: AppendTarget,
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return to.append(stream, await this.encryptAll(events), options);
  }

  protected override async writeAppendMany(
    to: AppendTarget,
    requests: readonly AppendRequest[],
  ): Promise<AppendResult[]> {
    return to.appendMany(await this.encryptRequests(requests));
  }

  /**
   * Inside a transaction: as outside, but a data key made (or first read) in it is cached only
   * once it commits. On SQLite the key is written in the transaction; rolled back, it is gone,
   * and a cached copy would encrypt later events under a key no one can read again.
   */
  protected override transactionAppends(tx: Tx): AppendTarget {
    const later = (remember: () => void) => tx.onCommit(remember);
    return {
      append: async (stream, events, options) =>
        tx.append(stream, await this.encryptAll(events, later), options),
      appendMany: async (requests) => tx.appendMany(await this.encryptRequests(requests, later)),
    };
  }

  // Not generators: the inner store checks the arguments (and that it is open) on the call,
  // as the port promises, rather than at the first iteration.
  override readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    return this.decryptAll(this.inner.readStream(stream, options));
  }

  override readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return this.decryptAll(this.inner.readAll(options));
  }

  /**
   * A hand-written iterator rather than an async generator: the generator's queueing per item
   * costs as much as decrypting an event. Events are handed on in order, each decrypted (or
   * its forget noticed) only when it is asked for.
   */
  private decryptAll(source: AsyncIterable<RecordedEvent>): AsyncIterable<RecordedEvent> {
    return {
      [Symbol.asyncIterator]: () => {
        const inner = source[Symbol.asyncIterator]();
        const ended = (value?: unknown): Promise<IteratorResult<RecordedEvent>> =>
          inner.return ? inner.return(value) : Promise.resolve({ done: true, value: undefined });
        return {
          next: async (): Promise<IteratorResult<RecordedEvent>> => {
            const step = await inner.next();
            if (step.done === true) return step;
            const event = step.value;
            if (event.type === SUBJECT_FORGOTTEN_EVENT && event.stream === this.shared.auditStream)
              this.noticeForgotten(event);
            const value = this.decrypt(event);
            return { done: false, value: value instanceof Promise ? await value : value };
          },
          return: ended,
        };
      },
    };
  }

  /**
   * A reader meeting a forget in the log drops the subject's cached key, so that what it does
   * next (a projection's forget hook, a rebuild) no longer decrypts the subject's data, however
   * fresh its cache. The key store, not the event, then says whether it is forgotten.
   */
  private noticeForgotten(event: RecordedEvent): void {
    const subject = (event.data as Partial<SubjectForgottenData> | null)?.subject;
    if (typeof subject === 'string') this.shared.cache.delete(subject);
  }

  /**
   * Forgets `subject`, in this order:
   *
   * 1. with `erasers` configured, collects the subject's personal values (reading its
   *    events of the personal types, decrypted) and has every eraser overwrite them with the
   *    redaction: saga state, outboxes, stream-job state, parked events, read models;
   * 2. destroys its data key, leaving a tombstone (so no new key is made for it and appends
   *    of its personal data are refused);
   * 3. deletes the snapshots that may hold its decrypted personal data from every store
   *    given as `snapshots` (after the key, so no snapshot folded from it can be taken
   *    afresh here once they are gone);
   * 4. erases the collected values again (copies written while steps 1-3 ran), then forgets
   *    them;
   * 5. appends a `subject.forgotten` audit event to the audit stream (with
   *    `snapshotsDeleted` and `copiesErased` when those stores are configured), which
   *    projections with a `forget` hook receive.
   *
   * Its events stay in the log; their personal fields read as redacted from now on, here at
   * once and in other processes within `keyCacheMs` (or as soon as they read the audit
   * event). Idempotent: forgetting again destroys nothing more, deletes whatever snapshot of
   * the subject is left and appends another audit event, so after a failure (or a crash)
   * part-way, running it again completes it, but for erasing copies once the key is gone
   * (its values can no longer be read): step 1 runs before the key is destroyed for that.
   */
  async forgetSubject(
    subject: string,
    details: { actor?: string; reason?: string } = {},
  ): Promise<ForgetResult> {
    assertSubject(subject);
    const { keyStore, clock, cache, auditStream, snapshots, erasers } = this.shared;
    const at = new Date(clock.now());
    const texts = erasers.length > 0 ? erasableTexts(await this.personalValues(subject)) : [];
    let copiesErased = 0;
    const erase = async () => {
      if (texts.length === 0) return;
      for (const eraser of erasers)
        copiesErased += await eraser.eraseValues(texts, this.replacementText());
    };
    await erase();
    const keyDestroyed = await keyStore.forget(subject, at);
    // The key evicted here at once (its tombstone cached in its place): from now on this
    // process reads the subject's fields as redacted.
    cache.delete(subject);
    this.remember(subject, null);
    let snapshotsDeleted = 0;
    for (const store of snapshots) snapshotsDeleted += await store.deleteBySubject(subject);
    await erase();
    texts.length = 0;
    const data: SubjectForgottenData = {
      subject,
      keyDestroyed,
      forgottenAt: at.toISOString(),
      ...(details.reason !== undefined ? { reason: details.reason } : {}),
      ...(snapshots.length > 0 ? { snapshotsDeleted } : {}),
      ...(erasers.length > 0 ? { copiesErased } : {}),
    };
    const result = await this.inner.append(auditStream, [
      {
        type: SUBJECT_FORGOTTEN_EVENT,
        data,
        metadata: details.actor !== undefined ? { actor: details.actor } : {},
      },
    ]);
    return { keyDestroyed, position: result.position, snapshotsDeleted, copiesErased };
  }

  /** What erasers write over a personal value: the redaction, as text. */
  private replacementText(): string {
    const { redaction } = this.shared;
    return typeof redaction === 'string' ? redaction : REDACTED;
  }

  /**
   * The decrypted values of `subject`'s personal fields, from its events of the personal
   * types (one read of those types; nothing when its key is already gone). Fields that do
   * not decrypt are passed over: they hold nothing readable to erase.
   */
  private async personalValues(subject: string): Promise<unknown[]> {
    const types = [...this.shared.policies.keys()];
    const values: unknown[] = [];
    if (types.length === 0) return values;
    let key: KeyObject | null | undefined;
    for await (const event of this.inner.readAll({ filter: { types } })) {
      const info = readEncryption(event.metadata.encryption);
      if (info?.subject !== subject) continue;
      key ??= await this.keyFor(subject, false);
      if (key === null) return values;
      if (info.v === 2) {
        const first = storedPath(info.fields[0]);
        const opened = first && openSealed(key, event.id, info, fieldValue(event.data, first));
        if (opened) values.push(...opened);
        continue;
      }
      for (const text of info.fields) {
        const path = storedPath(text);
        const opened = path && openField(key, event.id, text, fieldValue(event.data, path));
        if (opened !== undefined) values.push(JSON.parse(opened));
      }
    }
    return values;
  }

  /**
   * True once `subject` has been forgotten (its key is a tombstone), false while its key
   * lives or when it has none. Answers from the key cache while fresh (so a forget by
   * another process is noticed within `keyCacheMs`, as reads notice it), else from the key
   * store. A command handler asks it before serving a snapshot holding the subject's data.
   */
  async subjectForgotten(subject: string): Promise<boolean> {
    assertSubject(subject);
    const cached = this.cachedKey(subject);
    if (cached !== undefined) return cached === null;
    const entry = await this.shared.keyStore.get(subject);
    if (!entry) return false;
    if (entry.state === 'forgotten') {
      this.remember(subject, null);
      return true;
    }
    try {
      // Cached for the reads (and the next checks) that follow.
      this.remember(subject, entry);
    } catch {
      // A key this process cannot unwrap is still not forgotten; reads report the problem.
    }
    return false;
  }

  /**
   * Re-wraps every data key not wrapped by the current master key with it (master key
   * rotation), using the previous master keys to unwrap. Safe to run again after a crash.
   * Afterwards the old master keys can be retired ({@link EncryptedEventStore.retireMasterKey}).
   *
   * @returns how many keys were re-wrapped.
   */
  async rotateMasterKey(batchSize = 500): Promise<number> {
    const { keyStore, current, masters } = this.shared;
    let rewrapped = 0;
    let after: string | undefined;
    for (;;) {
      const keys = await keyStore.list({
        excludeMasterKeyId: current.id,
        limit: batchSize,
        ...(after !== undefined ? { after } : {}),
      });
      if (keys.length === 0) return rewrapped;
      for (const key of keys) {
        const dataKey = this.unwrap(key, masters);
        const wrapped = wrapDataKey(current, key.subject, dataKey);
        if (await keyStore.rewrap(key.subject, key.masterKeyId, wrapped, current.id))
          rewrapped += 1;
        after = key.subject;
      }
    }
  }

  /**
   * Removes an old master key's key check once no data key is wrapped by it any more, so it
   * is no longer accepted at start-up.
   *
   * @throws {InvalidArgumentError} for the current key, or while keys still use it.
   */
  async retireMasterKey(masterKeyId: string): Promise<void> {
    const { keyStore, current } = this.shared;
    if (masterKeyId === current.id)
      throw new InvalidArgumentError('masterKeyId', 'the current master key cannot be retired');
    const left = await keyStore.list({ excludeMasterKeyId: current.id, limit: 1 });
    if (left.length > 0)
      throw new InvalidArgumentError(
        'masterKeyId',
        'some data keys are still wrapped by older master keys: run rotateMasterKey first',
      );
    await keyStore.removeKeyCheck(masterKeyId);
  }

  private async encryptRequests(
    requests: readonly AppendRequest[],
    later?: Defer,
  ): Promise<AppendRequest[]> {
    if (!Array.isArray(requests)) return requests as AppendRequest[];
    const out: AppendRequest[] = [];
    for (const request of requests as AppendRequest[])
      out.push(
        typeof request === 'object' && request !== null
          ? { ...request, events: await this.encryptAll(request.events, later) }
          : request,
      );
    return out;
  }

  private async encryptAll(events: readonly EventInput[], later?: Defer): Promise<EventInput[]> {
    // Malformed lists are left for the inner store to refuse with its own typed errors.
    if (!Array.isArray(events)) return events as EventInput[];
    const out: EventInput[] = [];
    for (const [index, event] of (events as EventInput[]).entries())
      out.push(await this.encrypt(event, index, later));
    return out;
  }

  private async encrypt(input: EventInput, index: number, later?: Defer): Promise<EventInput> {
    if (typeof input !== 'object' || input === null) return input;
    // `metadata.encryption` is this decorator's to write: a caller's own would make readers
    // try to decrypt fields that were never encrypted.
    const event = stripEncryption(input);
    const policy = this.shared.policies.get(event.type);
    if (!policy) return event;
    const present = policy.fields.filter((path) => getField(event.data, path).found);
    if (present.length === 0) return event;
    const subject = policy.subject(event);
    if (typeof subject !== 'string' || subject === '' || subject.length > 200)
      throw new EncryptionError(
        index,
        'its personal fields have no subject (a string of 1-200 characters)',
      );
    const key = await this.keyFor(subject, true, later);
    if (key === null) throw new SubjectForgottenError(index);
    const id = event.id ?? newId();
    const fields = present.map(formatFieldPath);
    // Refused as the store refuses it (NaN, BigInt, a cycle...), not sealed as something else.
    const jsons = present.map((path, i) =>
      encodeJson(getField(event.data, path).value, `$[${index}].data${fields[i]!.slice(1)}`),
    );
    let data: unknown;
    let v: 1 | 2;
    if (present.length === 1) {
      v = 1;
      const sealed = seal(key, Buffer.from(jsons[0]!, 'utf8'), `${id}\n${fields[0]!}`);
      data = setField(event.data, present[0]!, CIPHER_PREFIX + sealed.toString('base64'));
    } else {
      v = 2;
      const plaintext = Buffer.from(`[${jsons.join(',')}]`, 'utf8');
      const sealed = seal(key, plaintext, sealedAad(id, fields));
      data = setFields(
        event.data,
        present,
        present.map((_, i) =>
          i === 0 ? SEALED_PREFIX + sealed.toString('base64') : SEALED_PREFIX,
        ),
      );
    }
    const encryption: EncryptionMetadata = { v, subject, fields };
    return { ...event, id, data, metadata: { ...event.metadata, encryption } };
  }

  /** The event as this view shows it: decrypted, redacted, or as stored when not personal. */
  private decrypt(event: RecordedEvent): RecordedEvent | Promise<RecordedEvent> {
    const info = readEncryption(event.metadata.encryption);
    if (!info) return event;
    if (!this.reveals) return this.reveal(event, info, null);
    // Most reads find the key cached: stay synchronous then (no promise per event).
    const cached = this.cachedKey(info.subject);
    if (cached !== undefined) return this.reveal(event, info, cached);
    return this.keyFor(info.subject, false).then((key) => this.reveal(event, info, key));
  }

  private reveal(
    event: RecordedEvent,
    info: EncryptionMetadata,
    key: KeyObject | null,
  ): RecordedEvent {
    if (info.v === 2) return this.revealSealed(event, info, key);
    let data = event.data;
    const undecryptable: string[] = [];
    for (const text of info.fields) {
      const path = storedPath(text);
      if (!path) continue;
      const value = fieldValue(data, path);
      if (value === MISSING) continue;
      if (key === null) {
        data = setField(data, path, this.shared.redaction);
        continue;
      }
      const opened = openField(key, event.id, text, value);
      if (opened === undefined) {
        if (this.shared.onUndecryptable === 'throw') throw new DecryptionError(event, text);
        data = setField(data, path, this.shared.redaction);
        undecryptable.push(text);
        continue;
      }
      data = setField(data, path, JSON.parse(opened));
    }
    const metadata =
      key === null
        ? { ...event.metadata, encryption: { ...info, redacted: true } }
        : undecryptable.length > 0
          ? { ...event.metadata, encryption: { ...info, undecryptable } }
          : event.metadata;
    return { ...event, data, metadata };
  }

  /**
   * {@link reveal} for a version 2 event: one seal for all its fields, opened once. Fields
   * the stored data no longer has are left out; when the seal does not open, every field is
   * undecryptable.
   */
  private revealSealed(
    event: RecordedEvent,
    info: EncryptionMetadata,
    key: KeyObject | null,
  ): RecordedEvent {
    const { fields } = info;
    const paths: FieldPath[] = [];
    const indexes: number[] = [];
    let first: unknown = MISSING;
    for (let i = 0; i < fields.length; i++) {
      const path = storedPath(fields[i]);
      if (!path) continue;
      const value = fieldValue(event.data, path);
      if (value === MISSING) continue;
      if (i === 0) first = value;
      paths.push(path);
      indexes.push(i);
    }
    const { redaction, onUndecryptable } = this.shared;
    const opened = key === null ? undefined : openSealed(key, event.id, info, first);
    if (key !== null && opened === undefined && onUndecryptable === 'throw')
      throw new DecryptionError(event, fields[0] ?? '$');
    const values: unknown[] = [];
    for (const i of indexes) values.push(opened ? opened[i] : redaction);
    const data = paths.length > 0 ? setFields(event.data, paths, values) : event.data;
    const metadata =
      key === null
        ? { ...event.metadata, encryption: { ...info, redacted: true } }
        : opened === undefined
          ? { ...event.metadata, encryption: { ...info, undecryptable: [...info.fields] } }
          : event.metadata;
    return { ...event, data, metadata };
  }

  /** The cached key (null: forgotten) while fresh, `undefined` on a miss. */
  private cachedKey(subject: string): KeyObject | null | undefined {
    const cached = this.shared.cache.get(subject);
    if (cached && this.shared.clock.now() - cached.at < this.shared.keyCacheMs) return cached.key;
    return undefined;
  }

  /**
   * The subject's data key, from the cache or the key store; `null` when forgotten (or, on
   * read, never created). With `create`, a missing key is made and stored.
   */
  private async keyFor(subject: string, create: boolean, later?: Defer): Promise<KeyObject | null> {
    const { clock, keyStore, current } = this.shared;
    // Only real keys and tombstones are cached, never "no key yet", so a key made by another
    // process is found at once.
    const cached = this.cachedKey(subject);
    if (cached !== undefined) return cached;
    let entry = await keyStore.get(subject);
    if (!entry && create) {
      const dataKey = randomBytes(32);
      const stored: StoredDataKey = {
        subject,
        masterKeyId: current.id,
        wrappedKey: wrapDataKey(current, subject, dataKey),
        createdAt: new Date(clock.now()),
      };
      entry = await keyStore.create(stored);
    }
    if (!entry) return null;
    const known = entry.state === 'forgotten' ? null : entry;
    if (!later) return this.remember(subject, known);
    later(() => this.remember(subject, known));
    return known === null ? null : createSecretKey(this.unwrap(known, this.shared.masters));
  }

  /**
   * Caches a subject's key (unwrapped here) or its tombstone (`null`), and returns it. The
   * cache keeps the order of fetching: a key fetched again moves to the end, and past
   * `keyCacheSize` the key fetched longest ago (the next to expire) is dropped.
   */
  private remember(subject: string, entry: StoredDataKey | null): KeyObject | null {
    const { cache, clock, masters, keyCacheMs, keyCacheSize } = this.shared;
    const key = entry === null ? null : createSecretKey(this.unwrap(entry, masters));
    // Nothing is kept when caching is off (a forget's tombstone neither: the key store says).
    if (keyCacheMs === 0) return key;
    cache.delete(subject);
    while (cache.size >= keyCacheSize) cache.delete(cache.keys().next().value as string);
    cache.set(subject, { key, at: clock.now() });
    return key;
  }

  private unwrap(entry: StoredDataKey, masters: Map<string, MasterKey>): Buffer {
    const master = masters.get(entry.masterKeyId);
    if (!master) throw new MasterKeyUnavailableError(entry.masterKeyId);
    const key = unwrapDataKey(master, entry.subject, entry.wrappedKey);
    if (!key) throw new WrongMasterKeyError(master.id, 'a data key does not unwrap with it');
    return key;
  }
}

/** Runs `remember` once the transaction commits (never, when it rolls back). */
type Defer = (remember: () => void) => void;

const parsedPaths = new Map<string, FieldPath>();

/**
 * A stored field path, parsed once per process (reads parse the same few paths again and
 * again); `undefined` for one that is not a field path (metadata written by someone else).
 */
function storedPath(text: unknown): FieldPath | undefined {
  if (typeof text !== 'string') return undefined;
  let path = parsedPaths.get(text);
  if (!path) {
    try {
      path = parseFieldPath(text);
    } catch {
      return undefined;
    }
    if (parsedPaths.size < 10_000) parsedPaths.set(text, path);
  }
  return path;
}

function stripEncryption(event: EventInput): EventInput {
  const metadata: unknown = event.metadata;
  if (typeof metadata !== 'object' || metadata === null || !('encryption' in metadata))
    return event;
  const { encryption: _encryption, ...rest } = metadata as Record<string, unknown>;
  return { ...event, metadata: rest };
}

function readEncryption(value: unknown): EncryptionMetadata | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const info = value as Partial<EncryptionMetadata>;
  if (
    (info.v !== 1 && info.v !== 2) ||
    typeof info.subject !== 'string' ||
    !Array.isArray(info.fields)
  )
    return undefined;
  return info as EncryptionMetadata;
}

/**
 * What a version 2 seal is bound to: the event id and the list of fields, so a seal copied
 * to another event, or a list of fields edited in the stored metadata, does not open.
 */
function sealedAad(id: string, fields: readonly string[]): string {
  return `cw2\n${id}\n${fields.join('\n')}`;
}

/**
 * The values of a version 2 event's fields, in list order, from the stored value of its
 * first field; `undefined` if it does not open.
 */
function openSealed(
  key: KeyObject,
  id: string,
  info: EncryptionMetadata,
  stored: unknown,
): unknown[] | undefined {
  if (typeof stored !== 'string' || !stored.startsWith(SEALED_PREFIX)) return undefined;
  const text = openBase64Text(key, stored, SEALED_PREFIX.length, sealedAad(id, info.fields));
  if (text === undefined) return undefined;
  const values: unknown = JSON.parse(text);
  return Array.isArray(values) && values.length === info.fields.length ? values : undefined;
}

/** The JSON text of a version 1 field from its stored value; `undefined` if it does not open. */
function openField(key: KeyObject, id: string, field: string, stored: unknown): string | undefined {
  if (typeof stored !== 'string' || !stored.startsWith(CIPHER_PREFIX)) return undefined;
  return openBase64Text(key, stored, CIPHER_PREFIX.length, `${id}\n${field}`);
}

function compile(options: EncryptedEventStoreOptions): Shared {
  if (typeof options !== 'object' || options === null)
    throw new SecurityConfigError('encryption', 'options are required');
  const { keyStore } = options;
  if (typeof keyStore?.get !== 'function')
    throw new SecurityConfigError('encryption.keyStore', 'must be a data key store');
  const asKey = (k: MasterKeyConfig | MasterKey, path: string): MasterKey =>
    typeof k?.key === 'string'
      ? parseMasterKey(k as MasterKeyConfig, path)
      : checkKey(k as MasterKey, path);
  const current = asKey(options.masterKey, 'encryption.masterKey');
  const masters = new Map<string, MasterKey>([[current.id, current]]);
  for (const [i, k] of (options.previousMasterKeys ?? []).entries()) {
    const key = asKey(k, `encryption.previousMasterKeys[${i}]`);
    if (masters.has(key.id))
      throw new SecurityConfigError(
        `encryption.previousMasterKeys[${i}].id`,
        `"${key.id}" is given twice`,
      );
    masters.set(key.id, key);
  }
  const policies = new Map<string, CompiledPolicy>();
  for (const [type, policy] of Object.entries(options.personal ?? {})) {
    const where = `encryption.personal[${JSON.stringify(type)}]`;
    if (
      typeof policy !== 'object' ||
      policy === null ||
      !isList(policy.fields) ||
      policy.fields.length === 0
    )
      throw new SecurityConfigError(`${where}.fields`, 'must list at least one field path');
    const fields = policy.fields.map((f, i) => parseFieldPath(f, `${where}.fields[${i}]`));
    let subject: (event: EventInput) => unknown;
    if (typeof policy.subject === 'function') subject = policy.subject;
    else if (typeof policy.subject === 'string') {
      const path = parseFieldPath(policy.subject, `${where}.subject`);
      if (fields.some((f) => formatFieldPath(f) === formatFieldPath(path)))
        throw new SecurityConfigError(
          `${where}.subject`,
          'the subject cannot be one of the encrypted fields',
        );
      subject = (event) => getField(event.data, path).value;
    } else throw new SecurityConfigError(`${where}.subject`, 'must be a field path or a function');
    policies.set(type, { subject, fields });
  }
  const snapshots = options.snapshots === undefined ? [] : [options.snapshots].flat();
  for (const [i, store] of snapshots.entries()) {
    if (typeof (store as Partial<SnapshotStore> | null)?.deleteBySubject !== 'function')
      throw new SecurityConfigError(
        `encryption.snapshots[${i}]`,
        'must be a snapshot store (with deleteBySubject)',
      );
  }
  const erasers = options.erasers === undefined ? [] : [options.erasers].flat();
  for (const [i, eraser] of erasers.entries()) {
    if (typeof (eraser as Partial<SubjectEraser> | null)?.eraseValues !== 'function')
      throw new SecurityConfigError(
        `encryption.erasers[${i}]`,
        'must be a subject eraser (with eraseValues)',
      );
  }
  const keyCacheMs = options.keyCacheMs ?? DEFAULT_KEY_CACHE_MS;
  if (!Number.isFinite(keyCacheMs) || keyCacheMs < 0)
    throw new SecurityConfigError('encryption.keyCacheMs', 'must be a number >= 0');
  const keyCacheSize = options.keyCacheSize ?? DEFAULT_KEY_CACHE_SIZE;
  if (!Number.isSafeInteger(keyCacheSize) || keyCacheSize < 1)
    throw new SecurityConfigError('encryption.keyCacheSize', 'must be an integer >= 1');
  return {
    keyStore,
    current,
    masters,
    policies,
    redaction: options.redaction === undefined ? REDACTED : options.redaction,
    auditStream: options.auditStream ?? 'security-audit',
    snapshots,
    erasers,
    keyCacheMs,
    keyCacheSize,
    onUndecryptable: options.onUndecryptable === 'redact' ? 'redact' : 'throw',
    clock: options.clock ?? systemClock,
    cache: new Map(),
  };
}

function checkKey(key: MasterKey, path: string): MasterKey {
  if (
    typeof key !== 'object' ||
    key === null ||
    typeof key.id !== 'string' ||
    !(key.key instanceof Uint8Array) ||
    key.key.length !== 32
  )
    throw new SecurityConfigError(path, 'must be { id, key } with a 32-byte key');
  return key;
}

/**
 * Fails fast unless the configured master keys match the stored key checks; stores the current
 * key's check when it is new (first start, or the start of a rotation vouched for by a
 * previous key that matched).
 */
async function checkMasterKeys(shared: Shared, options: EncryptedEventStoreOptions): Promise<void> {
  void options;
  const { keyStore, current, masters } = shared;
  const checks = await keyStore.keyChecks();
  let matched = 0;
  for (const check of checks) {
    const master = masters.get(check.masterKeyId);
    if (!master) continue;
    if (!matchesKeyCheck(master, check.value))
      throw new WrongMasterKeyError(
        master.id,
        'it does not match the key check stored with the data keys',
      );
    matched += 1;
  }
  if (checks.some((c) => c.masterKeyId === current.id)) return;
  if (checks.length > 0 && matched === 0)
    throw new WrongMasterKeyError(
      current.id,
      `the data keys belong to other master keys (${checks.map((c) => c.masterKeyId).join(', ')}); give one of them as a previous key to rotate`,
    );
  await keyStore.addKeyCheck({ masterKeyId: current.id, value: makeKeyCheck(current) });
}
