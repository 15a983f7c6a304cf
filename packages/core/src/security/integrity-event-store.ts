import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { EventInput, RecordedEvent } from '../core/envelope.js';
import {
  DuplicateEventIdError,
  InvalidArgumentError,
  WrongExpectedRevisionError,
} from '../core/errors.js';
import { newId } from '../core/ids.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  DeleteStreamOptions,
  ExpectedRevision,
  ReadStreamOptions,
  StoreTransaction,
  TransactionalEventStore,
} from '../store/event-store.js';
import {
  attempt,
  ForwardingEventStore,
  type AppendTarget,
} from '../store/forwarding-event-store.js';
import {
  GENESIS_HASH,
  linkHash,
  readIntegrity,
  signHash,
  withoutIntegrity,
  type IntegrityMetadata,
} from './hash-chain.js';
import { scavengeSettings, type ScavengeOptions, type ScavengeReport } from '../store/scavenge.js';
import { assertExpectedRevision, prepareAppend, prepareAppendMany } from '../store/validation.js';
import { sealAnchor, type ChainHeadAnchor, type ChainStartAnchor } from './chain-anchor.js';
import type { ChainAnchorStore } from './chain-anchor-store.js';
import { recordChainStart } from './chain-start.js';
import { IntegrityConflictError, SecurityConfigError } from './security-errors.js';

/** Options of {@link integrityEventStore}. */
export interface IntegrityEventStoreOptions<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Where each stream's chain head is anchored (a backend's `chainAnchorStore()`; `stackBackend`
   * passes the backend's own). With it, every append writes its stream's head (revision and
   * hash, signed with `signingKey`) in the append's transaction, so `verifyStore` finds events
   * deleted at the end of a stream, or a whole stream. Without it, only the links are checked.
   */
  anchors?: ChainAnchorStore<Tx>;
  /** Ed25519 private key (KeyObject or PKCS#8 PEM): each link's hash is signed with it. */
  signingKey?: KeyObject | string;
  /** Id of the signing key, stored with each signature (`kid`). */
  keyId?: string;
  /** Attempts of one append racing other writers of its stream (default 10). */
  maxAttempts?: number;
}

/** Events linked onto a chain's head, and the expectation that keeps them there. */
interface Chained {
  events: EventInput[];
  expectedRevision: ExpectedRevision;
  /** Hash of the last of them. */
  last: string;
}

/** Where a stream's chain ends. */
interface ChainHead {
  /** Revision of the stream's last event, or null when it never had one. */
  revision: number | null;
  /** True when the stream has visible events (what `'no_stream'` checks). */
  exists: boolean;
  hash: string;
}

const MAX_CACHED_HEADS = 10_000;

/**
 * Wraps `store` so every stream is a hash chain: each appended event gets
 * `metadata.integrity = { v, hash, prev, sig?, kid? }`, where `hash` covers its content and
 * `prev` (the previous event's hash), optionally signed with Ed25519. {@link verifyStore}
 * checks the chains.
 *
 * Ordering with concurrent writers: an append reads where its stream's chain ends, then
 * appends with exactly that expected revision, so two writers can never both link to the same
 * predecessor: the loser gets a conflict and, when its own expectation was `'any'` or
 * `'stream_exists'`, re-reads the head and tries again (up to `maxAttempts`); with a numeric
 * or `'no_stream'` expectation the conflict is the caller's to handle, as without chaining.
 * Writers that bypass this decorator break the chain, and `verifyStore` reports it.
 *
 * @example
 * ```ts
 * const store = integrityEventStore(raw, { signingKey: readFileSync('signing.pem', 'utf8') });
 * await store.append('order-1', [{ type: 'order.placed', data: {} }]);
 * ```
 */
export function integrityEventStore<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
  options: IntegrityEventStoreOptions<Tx> = {},
): IntegrityEventStore<Tx> {
  return new IntegrityEventStore(store, options);
}

/** The store returned by {@link integrityEventStore}. */
export class IntegrityEventStore<
  Tx extends StoreTransaction = StoreTransaction,
> extends ForwardingEventStore<Tx> {
  private readonly signingKey: KeyObject | undefined;
  private readonly keyId: string | undefined;
  private readonly maxAttempts: number;
  /** Where heads are anchored, if anywhere. */
  readonly anchors: ChainAnchorStore<Tx> | undefined;
  private readonly heads = new Map<string, ChainHead>();
  /** Tail of each stream's queue of appends in this process. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(inner: TransactionalEventStore<Tx>, options: IntegrityEventStoreOptions<Tx> = {}) {
    super(inner);
    if (options.signingKey !== undefined) {
      try {
        this.signingKey =
          typeof options.signingKey === 'string'
            ? createPrivateKey(options.signingKey)
            : options.signingKey;
      } catch (error) {
        throw new SecurityConfigError('integrity.signingKey', 'is not a private key', {
          cause: error,
        });
      }
      if (this.signingKey.asymmetricKeyType !== 'ed25519' || this.signingKey.type !== 'private')
        throw new SecurityConfigError('integrity.signingKey', 'must be an Ed25519 private key');
    }
    this.keyId = options.keyId;
    this.anchors = options.anchors;
    this.maxAttempts = options.maxAttempts ?? 10;
    if (!Number.isSafeInteger(this.maxAttempts) || this.maxAttempts < 1)
      throw new SecurityConfigError('integrity.maxAttempts', 'must be an integer >= 1');
  }

  override append(
    stream: string,
    events: readonly EventInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    // Malformed lists go straight to the inner store, which refuses them with its own errors.
    if (!Array.isArray(events) || events.length === 0 || typeof stream !== 'string')
      return this.inner.append(stream, events, options);
    return this.serialized([stream], async () => {
      const expected = expectation(options.expectedRevision);
      assertExpectedRevision(expected);
      for (let round = 1; ; round++) {
        let chained: Chained;
        try {
          chained = await this.chainOnHead(stream, events, expected);
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          return await this.storedRetry(this.inner, { stream, events, expected, error });
        }
        try {
          const result = await this.anchored(
            (to) =>
              to.append(stream, chained.events, { expectedRevision: chained.expectedRevision }),
            (r) => [{ stream, revision: r.revision, hash: chained.last }],
          );
          this.remember(stream, { revision: result.revision, exists: true, hash: chained.last });
          return result;
        } catch (error) {
          this.heads.delete(stream);
          if (error instanceof DuplicateEventIdError)
            return await this.storedRetry(this.inner, { stream, events, expected, error });
          if (!retriable(error, expected)) throw error;
          if (round >= this.maxAttempts) throw new IntegrityConflictError(stream, round);
          await backoff(round);
        }
      }
    });
  }

  override appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    if (!Array.isArray(requests) || requests.length === 0) return this.inner.appendMany(requests);
    const streams = (requests as AppendRequest[]).map((r) =>
      typeof r === 'object' && r !== null ? r.stream : '',
    );
    return this.serialized(streams, async () => {
      for (let round = 1; ; round++) {
        const overlay = new Map<string, ChainHead>();
        const planned: AppendRequest[] = [];
        for (const request of requests as AppendRequest[]) {
          if (
            typeof request !== 'object' ||
            request === null ||
            !Array.isArray(request.events) ||
            request.events.length === 0
          ) {
            planned.push(request);
            continue;
          }
          const head = overlay.get(request.stream) ?? (await this.head(request.stream));
          const chained = this.chain(
            request.stream,
            head,
            request.events,
            expectation(request.expectedRevision),
          );
          planned.push({
            stream: request.stream,
            events: chained.events,
            expectedRevision: chained.expectedRevision,
          });
          overlay.set(request.stream, {
            revision: firstRevision(head) + request.events.length - 1,
            exists: true,
            hash: chained.last,
          });
        }
        try {
          const results = await this.anchored(
            (to) => to.appendMany(planned),
            (r) =>
              r.flatMap((result) => {
                const head = overlay.get(result.stream);
                return head && head.revision === result.revision
                  ? [{ stream: result.stream, revision: result.revision, hash: head.hash }]
                  : [];
              }),
          );
          for (const [stream, head] of overlay) this.remember(stream, head);
          return results;
        } catch (error) {
          for (const stream of overlay.keys()) this.heads.delete(stream);
          const allRetriable = (requests as AppendRequest[]).every((r) =>
            retriable(error, expectation(r.expectedRevision)),
          );
          if (!allRetriable) throw error;
          if (round >= this.maxAttempts)
            throw new IntegrityConflictError((requests[0] as AppendRequest).stream, round);
          await backoff(round);
        }
      }
    });
  }

  /** Inside a transaction: chained onto heads the transaction itself moved, no retries. */
  protected override transactionAppends(tx: Tx): AppendTarget {
    // Heads of streams appended in this transaction, not yet visible to reads.
    const overlay = new Map<string, ChainHead>();
    const appendOne = async (request: AppendRequest): Promise<AppendResult> => {
      const { stream, events } = request;
      const expected = expectation(request.expectedRevision);
      if (!Array.isArray(events) || events.length === 0)
        return tx.append(stream, events, { expectedRevision: expected });
      let chained: Chained;
      try {
        chained = await this.chainOnHead(stream, events, expected, overlay.get(stream));
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        return await this.storedRetry(tx, { stream, events, expected, error });
      }
      try {
        const result = await tx.append(stream, chained.events, {
          expectedRevision: chained.expectedRevision,
        });
        const next = { revision: result.revision, exists: true, hash: chained.last };
        await this.anchor([{ stream, revision: result.revision, hash: chained.last }], tx);
        overlay.set(stream, next);
        tx.onCommit(() => this.remember(stream, next));
        return result;
      } catch (error) {
        this.heads.delete(stream);
        if (error instanceof DuplicateEventIdError)
          return await this.storedRetry(tx, { stream, events, expected, error });
        throw error;
      }
    };
    return {
      append: (stream, events, options) =>
        appendOne({ stream, events, expectedRevision: expectation(options?.expectedRevision) }),
      appendMany: async (requests) => {
        // The call's own checks (a non-empty list, ids unique across it) before its parts.
        prepareAppendMany(requests, Number.POSITIVE_INFINITY);
        const results: AppendResult[] = [];
        for (const request of requests as AppendRequest[]) results.push(await appendOne(request));
        return results;
      },
    };
  }

  /**
   * Runs `write` against the inner store: with anchors, in one transaction with the head
   * anchors of what it wrote, so an append and its anchor commit together.
   */
  private anchored<R>(
    write: (to: AppendTarget) => Promise<R>,
    heads: (result: R) => Omit<ChainHeadAnchor, 'sig' | 'kid'>[],
  ): Promise<R> {
    if (!this.anchors) return write(this.inner);
    let started = false;
    return this.inner
      .transaction(async (tx) => {
        started = true;
        const result = await write(tx);
        await this.anchor(heads(result), tx);
        return result;
      })
      .catch((error: unknown) => {
        // Refused before it began (called inside a transaction of the same store): the store's
        // own append refuses that too, naming the way out (`tx.append`).
        if (!started && error instanceof InvalidArgumentError) return write(this.inner);
        throw error;
      });
  }

  /** Writes (signed) head anchors in `tx`, when anchoring is on. */
  private async anchor(heads: Omit<ChainHeadAnchor, 'sig' | 'kid'>[], tx: Tx): Promise<void> {
    if (!this.anchors || heads.length === 0) return;
    const signing = { key: this.signingKey, keyId: this.keyId };
    await this.anchors.saveHeads(
      heads.map((h) => sealAnchor<ChainHeadAnchor>('head', h, signing)),
      tx,
    );
  }

  /**
   * Records, in `tx`, where `lastRemoved`'s stream's chain now starts: the scavenge that
   * removes the stream's events up to and including `lastRemoved` calls this in its
   * transaction, so `verifyStore` accepts the chain starting after it. Signed like the links.
   * Returns the anchor written, or undefined when there is nothing to anchor (no anchor store,
   * or `lastRemoved` is not chained).
   */
  recordChainStart(tx: Tx, lastRemoved: RecordedEvent): Promise<ChainStartAnchor | undefined> {
    if (!this.anchors) return Promise.resolve(undefined);
    return recordChainStart({
      anchors: this.anchors,
      tx,
      lastRemoved,
      ...(this.signingKey ? { signingKey: this.signingKey } : {}),
      ...(this.keyId !== undefined ? { keyId: this.keyId } : {}),
    });
  }

  /**
   * Scavenges the store below, keeping every chain verifiable: before any row goes, each
   * stream's chain start is moved (signed) to its first visible event (past its head when
   * none is visible), as the removal will leave it; after the run, the streams it removed
   * events from are looked at again, in case more became hidden meanwhile (`maxAge`,
   * `maxCount`). A tombstoned stream needs no start: its head anchor carries the tombstone.
   * Costs a stream-row read, an anchor read and a one-event read per stream of the store.
   * A dry run records nothing.
   */
  override async scavenge(options?: ScavengeOptions): Promise<ScavengeReport> {
    const settings = scavengeSettings(options);
    if (!this.anchors || settings.dryRun) return super.scavenge(options);
    for await (const summary of this.inner.listStreams({ includeDeleted: true }))
      await this.anchorVisibleStart(summary.stream);
    const moved = new Set<string>();
    const report = await super.scavenge({
      ...options,
      onProgress: (progress) => {
        for (const stream of progress.streams) moved.add(stream);
        settings.onProgress?.(progress);
      },
    });
    for (const stream of moved) await this.anchorVisibleStart(stream);
    return report;
  }

  /** Moves the stream's chain start forward to its first visible event, when it is behind. */
  private async anchorVisibleStart(stream: string): Promise<void> {
    const anchors = this.anchors;
    if (!anchors) return;
    const info = await this.inner.streamInfo(stream);
    if (info.revision === null) return;
    const stored = await anchors.load(stream);
    const current = stored?.start?.revision ?? 0;
    const anchoredHead = stored?.head;
    if (info.deleted === 'hard') {
      // Tombstoned around this layer (or before anchoring): the chain ends at its head.
      if (anchoredHead && anchoredHead.deleted !== true && anchoredHead.revision === info.revision)
        await this.saveStart(stream, anchoredHead.revision + 1, anchoredHead.hash);
      return;
    }
    let first: RecordedEvent | undefined;
    for await (const event of this.inner.readStream(stream, { limit: 1 })) first = event;
    if (first) {
      const prev = readIntegrity(first.metadata.integrity)?.prev;
      if (first.revision > current && prev !== undefined)
        await this.saveStart(stream, first.revision, prev);
      return;
    }
    // Nothing visible: every event goes, and the chain starts past its head.
    const head = anchoredHead ?? (await this.head(stream));
    if (head.revision === info.revision && info.revision + 1 > current)
      await this.saveStart(stream, info.revision + 1, head.hash);
  }

  private async saveStart(stream: string, revision: number, prev: string): Promise<void> {
    await this.anchors?.saveStart(
      sealAnchor<ChainStartAnchor>(
        'start',
        { stream, revision, prev },
        { key: this.signingKey, keyId: this.keyId },
      ),
    );
  }

  /**
   * Runs `work` after this process's earlier appends to the same streams: writers in one
   * process take turns instead of racing, so only other processes cause retries. Locks are
   * taken in name order, so two multi-stream appends cannot wait for each other.
   */
  private serialized<T>(streams: readonly string[], work: () => Promise<T>): Promise<T> {
    const names = [...new Set(streams)].sort();
    const before = Promise.all(
      names.map((n) => this.queues.get(n)?.catch(() => undefined) ?? Promise.resolve()),
    );
    const run = before.then(() => attempt(work));
    const tail = run.catch(() => undefined);
    for (const name of names) this.queues.set(name, tail);
    void tail.then(() => {
      for (const name of names) if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return run;
  }

  /** Checks the caller's expectation against the head and links the events onto it. */
  private chain(
    stream: string,
    head: ChainHead,
    events: readonly EventInput[],
    expected: ExpectedRevision,
  ): Chained {
    // Refused as the store refuses it (a malformed event, data JSON cannot carry, a bad
    // expectation), before hashing makes something else of it.
    prepareAppend(stream, events, expected, Number.POSITIVE_INFINITY);
    const actual = head.exists && head.revision !== null ? head.revision : 'no_stream';
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && !head.exists) ||
      (expected === 'stream_exists' && head.exists) ||
      expected === actual;
    // Anything else malformed (a bad expectation) goes to the inner store to refuse.
    if (
      !ok &&
      (typeof expected === 'number' || expected === 'no_stream' || expected === 'stream_exists')
    )
      throw new WrongExpectedRevisionError(stream, expected, actual);
    let prev = head.hash;
    let revision = firstRevision(head);
    const out = events.map((event) => {
      if (typeof event !== 'object' || event === null) return event;
      const id = event.id ?? newId();
      const metadata = withoutIntegrity({ ...(event.metadata ?? {}) });
      const hash = linkHash(
        {
          stream,
          revision,
          id,
          type: event.type,
          schemaVersion: event.schemaVersion ?? 1,
          data: event.data,
          metadata,
        },
        prev,
      );
      const integrity: IntegrityMetadata = { v: 1, hash, prev };
      if (this.signingKey) {
        integrity.sig = signHash(hash, this.signingKey);
        if (this.keyId !== undefined) integrity.kid = this.keyId;
      }
      prev = hash;
      revision += 1;
      return { ...event, id, metadata: { ...metadata, integrity } };
    });
    return {
      events: out,
      expectedRevision: head.exists && head.revision !== null ? head.revision : 'no_stream',
      last: prev,
    };
  }

  /**
   * Links `events` onto the stream's head (`known`, or the cached or stored one). A cached head
   * the caller's expectation does not match may be stale (another process wrote, or deleted
   * the stream): it is read again once before the expectation is refused.
   */
  private async chainOnHead(
    stream: string,
    events: readonly EventInput[],
    expected: ExpectedRevision,
    known?: ChainHead,
  ): Promise<Chained> {
    const head = known ?? (await this.head(stream));
    try {
      return this.chain(stream, head, events, expected);
    } catch (error) {
      const cached = known === undefined && this.heads.delete(stream);
      if (!cached || !(error instanceof WrongExpectedRevisionError)) throw error;
      return this.chain(stream, await this.head(stream), events, expected);
    }
  }

  /**
   * The store's own answer when `events` (with client ids) retry an append already stored:
   * chained, they would go after the stored ones, as a conflict or a duplicate, where the store
   * answers a retry with the stored result. Once one of their ids is found in the stream (where
   * the caller's expectation puts them, among its last events or, after a duplicate, anywhere
   * in it), the store cannot write them: they go to `to` as given, under the caller's
   * expectation, for its result or its duplicate-id error. Otherwise `error` is thrown.
   */
  private async storedRetry(
    to: AppendTarget,
    retry: {
      stream: string;
      events: readonly EventInput[];
      expected: ExpectedRevision;
      error: Error;
    },
  ): Promise<AppendResult> {
    const { stream, events, expected, error } = retry;
    const ids = new Set(
      events.flatMap((e) => (typeof e.id === 'string' ? [e.id.toLowerCase()] : [])),
    );
    if (ids.size === 0) throw error;
    const places: ReadStreamOptions[] =
      error instanceof DuplicateEventIdError
        ? [{}]
        : [
            { direction: 'backward', limit: events.length },
            ...(expected === 'no_stream' ? [{ from: 0, limit: events.length }] : []),
            ...(typeof expected === 'number' ? [{ from: expected + 1, limit: events.length }] : []),
          ];
    for (const options of places)
      for await (const stored of this.inner.readStream(stream, options))
        if (ids.has(stored.id)) return to.append(stream, events, { expectedRevision: expected });
    throw error;
  }

  /**
   * Drops the stream's cached head once deleted (a soft-deleted stream is absent to
   * `'no_stream'`). A tombstone (`hard`) is recorded in the stream's head anchor, signed, so
   * that `verifyStore` tells its events going from reads (and, scavenged, from the database)
   * from deleted rows. A tombstoned stream takes no more appends, so its anchored head is
   * final; it is marked once the tombstone has committed.
   */
  override deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void> {
    return this.serialized([stream], async () => {
      try {
        await this.inner.deleteStream(stream, options);
      } finally {
        this.heads.delete(stream);
      }
      if (options?.hard === true && this.anchors) {
        const head = (await this.anchors.load(stream))?.head;
        if (head && head.deleted !== true) {
          const { sig: _sig, kid: _kid, ...bare } = head;
          await this.anchors.saveHeads([
            sealAnchor<ChainHeadAnchor>(
              'head',
              { ...bare, deleted: true },
              { key: this.signingKey, keyId: this.keyId },
            ),
          ]);
        }
      }
    });
  }

  /** Where the stream's chain ends now (from the cache, else from the store). */
  private async head(stream: string): Promise<ChainHead> {
    const cached = this.heads.get(stream);
    if (cached) return cached;
    let last: RecordedEvent | undefined;
    for await (const event of this.inner.readStream(stream, { direction: 'backward', limit: 1 }))
      last = event;
    if (last) return { revision: last.revision, exists: true, hash: hashOf(last) };
    const info = await this.inner.streamInfo(stream);
    if (info.revision === null) return { revision: null, exists: false, hash: GENESIS_HASH };
    // Hidden (soft-deleted, maybe scavenged since) events still anchor the chain: its head
    // anchor names the last one; else find it in the log.
    const anchored = this.anchors && (await this.anchors.load(stream))?.head;
    if (anchored?.revision === info.revision)
      return { revision: info.revision, exists: info.exists, hash: anchored.hash };
    for await (const event of this.inner.readAll({
      direction: 'backward',
      filter: { streamPrefix: stream },
    }))
      if (event.stream === stream)
        return { revision: event.revision, exists: info.exists, hash: hashOf(event) };
    return { revision: info.revision, exists: info.exists, hash: GENESIS_HASH };
  }

  private remember(stream: string, head: ChainHead): void {
    this.heads.delete(stream);
    if (this.heads.size >= MAX_CACHED_HEADS)
      this.heads.delete(this.heads.keys().next().value as string);
    this.heads.set(stream, head);
  }
}

/** The hash the next link must name as `prev`: the event's own, or genesis for an unchained one. */
function hashOf(event: RecordedEvent): string {
  return readIntegrity(event.metadata.integrity)?.hash ?? GENESIS_HASH;
}

/**
 * A short random pause before retrying a lost race, growing with the round, so a writer whose
 * cached head keeps it ahead cannot starve another process's writer.
 */
function backoff(round: number): Promise<void> {
  const ms = Math.random() * Math.min(100, 2 ** round);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The caller's expectation, `'any'` when not given (a `null` stays, for the store to refuse). */
function expectation(given: ExpectedRevision | undefined): ExpectedRevision {
  return given === undefined ? 'any' : given;
}

function firstRevision(head: ChainHead): number {
  return head.revision === null ? 0 : head.revision + 1;
}

function retriable(error: unknown, expected: unknown): boolean {
  return (
    error instanceof WrongExpectedRevisionError &&
    (expected === 'any' || expected === 'stream_exists')
  );
}
