import { createPublicKey, type KeyObject } from 'node:crypto';
import type { RecordedEvent } from '../core/envelope.js';
import type { EventStore } from '../store/event-store.js';
import { assertStreamName } from '../store/validation.js';
import {
  GENESIS_HASH,
  linkHash,
  readIntegrity,
  verifyHashSignature,
  withoutIntegrity,
} from './hash-chain.js';
import {
  anchorSignatureProblem,
  readHeadAnchor,
  readStartAnchor,
  type ChainAnchors,
  type ChainHeadAnchor,
  type ChainStartAnchor,
} from './chain-anchor.js';
import type { ChainAnchorStore } from './chain-anchor-store.js';
import { SecurityConfigError } from './security-errors.js';

/** Why a link is broken. */
export type BrokenLinkReason =
  /** The event has no (well-formed) `metadata.integrity`. */
  | 'missing-integrity'
  /** The event's content does not hash to its stored hash: it was edited. */
  | 'hash-mismatch'
  /** `prev` is not the previous event's hash: an event was removed, inserted or reordered. */
  | 'broken-link'
  /** The revision does not follow the previous one: an event is missing. */
  | 'revision-gap'
  /** A public key was given and the event carries no signature. */
  | 'unsigned'
  /** The signature does not verify with the public key. */
  | 'bad-signature'
  /** The stream's last events are gone: its head anchor names a later revision (`missing`). */
  | 'truncated'
  /** Every event of the stream is gone, though its head anchor or stream row remains. */
  | 'stream-missing'
  /** The stream's last event is not the one its head anchor names (another hash, or later). */
  | 'anchor-mismatch'
  /** The store's stream revision (`streamRevision`) is not the last event's revision. */
  | 'head-mismatch'
  /** `requireAnchors`: a chained stream has no head anchor (its anchor row was removed?). */
  | 'unanchored'
  /** A public key was given and an anchor carries no signature. */
  | 'anchor-unsigned'
  /** An anchor's signature does not verify with the public key. */
  | 'anchor-bad-signature'
  /** A stored anchor cannot be read (its row was edited). */
  | 'anchor-malformed'
  /** A head of `expectHeads` is no longer in its stream: the store was rolled back or rewritten. */
  | 'expected-head-missing';

/** The first broken link found, and where. */
export interface BrokenLink {
  stream: string;
  /** The revision at fault: the event's, or the first missing one. */
  revision: number;
  /** Position of the event at fault (absent when the fault is a missing event). */
  position?: number;
  /** Id of the event at fault (absent when the fault is a missing event). */
  eventId?: string;
  reason: BrokenLinkReason;
  /** Revision of the stream's last stored event (null: none), for end-of-stream faults. */
  storedRevision?: number | null;
  /** Revision the stream's head anchor (or an expected head) names. */
  anchoredRevision?: number;
  /** Revision the store's stream row holds (null: no row), for `head-mismatch`. */
  streamRevision?: number | null;
  /** The revisions that are gone, for `truncated` and `stream-missing`. */
  missing?: { from: number; to: number };
}

/** What {@link verifyStore} found. */
export interface VerifyReport {
  ok: boolean;
  /** Streams seen (up to the break). */
  streams: number;
  /** Events checked (up to the break). */
  events: number;
  /** Position of the last event checked (0 when none). */
  lastPosition: number;
  /** With `anchors`: streams whose head anchor was checked. */
  anchored?: number;
  /** With `anchors`: chained streams without a head anchor (written before anchoring). */
  unanchored?: number;
  broken?: BrokenLink;
}

/** Options of {@link verifyStore}. */
export interface VerifyStoreOptions {
  /** Check this stream only. Default: every stream. */
  stream?: string;
  /** Ed25519 public key (KeyObject or SPKI PEM): every event must carry a valid signature. */
  publicKey?: KeyObject | string;
  /**
   * The chain anchors (a backend's `chainAnchorStore()`): each stream must end where its head
   * anchor says, and start where its start anchor says (with `publicKey`, both signed).
   */
  anchors?: Pick<ChainAnchorStore, 'load' | 'list'>;
  /** With `anchors`: a chained stream without a head anchor is a fault (`unanchored`). */
  requireAnchors?: boolean;
  /**
   * Heads recorded earlier (an exported head list, see {@link exportHeads}): each must still
   * be in its stream, same revision, same hash, which finds a store rolled back to an earlier,
   * consistent state.
   */
  expectHeads?: readonly ChainHeadAnchor[];
  /** Called every 1,000 events with the count so far (for progress bars). */
  onProgress?: (events: number, position: number) => void;
}

/** The last event of a stream seen so far. */
interface Seen {
  revision: number;
  hash: string;
}

const ANCHOR_PAGE = 1000;

/**
 * Checks the hash chains written by {@link integrityEventStore}: for each stream, each event's
 * hash must match its content, name the previous event's hash, and follow its revision, and,
 * with `publicKey`, carry a valid signature. Then each stream must end where the store's stream
 * row says and, with `anchors`, where its head anchor says, which finds events deleted at the
 * end of a stream or every event of it. Reads the global log once, in position order, keeping
 * each stream's last hash (and its anchors) in memory (a few hundred bytes per stream).
 * Reports the first fault, with its place.
 *
 * Run it on the store as stored (not through `encryptedEventStore`): hashes cover the
 * ciphertext, so forgotten subjects verify like any other event.
 *
 * @example
 * ```ts
 * const report = await verifyStore(store, { anchors: await backend.chainAnchorStore() });
 * if (!report.ok) reportBroken(report.broken); // { stream, revision, reason, position?, missing? ... }
 * ```
 */
export async function verifyStore(
  store: EventStore,
  options: VerifyStoreOptions = {},
): Promise<VerifyReport> {
  if (options.stream !== undefined) assertStreamName(options.stream);
  const publicKey = toPublicKey(options.publicKey);
  const only = options.stream;
  const anchors = await loadAnchors(options.anchors, only);
  const expected = new Map<string, ChainHeadAnchor>();
  for (const head of options.expectHeads ?? [])
    if (only === undefined || head.stream === only) expected.set(head.stream, head);
  const heads = new Map<string, Seen>();
  /** Start anchors of streams that began below them, until the scan reaches them. */
  const startsAt = new Map<string, ChainStartAnchor>();
  let events = 0;
  let lastPosition = 0;
  const fail = (broken: BrokenLink): VerifyReport => ({
    ok: false,
    streams: heads.size + (heads.has(broken.stream) ? 0 : 1),
    events,
    lastPosition,
    broken,
  });
  const filter = only !== undefined ? { streamPrefix: only } : undefined;
  for await (const event of store.readAll(filter ? { filter } : {})) {
    if (only !== undefined && event.stream !== only) continue;
    let previous = heads.get(event.stream);
    let reason: BrokenLinkReason | undefined;
    if (!previous) {
      // The chain starts at genesis or, after a scavenge, where its start anchor says: the
      // events below the anchored start may be gone (a scavenge removes them, in batches, after
      // recording it), so a stream may also start at any revision below it, and the event at
      // the anchored start must then link to the anchored hash.
      const found = startOf(anchors.get(event.stream), publicKey);
      if (typeof found === 'string')
        return fail({ stream: event.stream, revision: event.revision, reason: found });
      if (found && event.revision >= found.revision)
        previous = { revision: found.revision - 1, hash: found.prev };
      else if (found) {
        const prev = readIntegrity(event.metadata.integrity)?.prev;
        if (prev !== undefined && event.revision > 0)
          previous = { revision: event.revision - 1, hash: prev };
        startsAt.set(event.stream, found);
      }
    } else {
      const start = startsAt.get(event.stream);
      if (start?.revision === event.revision) {
        startsAt.delete(event.stream);
        if (readIntegrity(event.metadata.integrity)?.prev !== start.prev) reason = 'broken-link';
      }
    }
    reason ??= check(event, previous, publicKey);
    if (reason !== undefined)
      return fail({
        stream: event.stream,
        revision: event.revision,
        position: event.position,
        eventId: event.id,
        reason,
      });
    const hash = readIntegrity(event.metadata.integrity)?.hash as string;
    heads.set(event.stream, { revision: event.revision, hash });
    const wanted = expected.get(event.stream);
    if (wanted?.revision === event.revision) {
      if (wanted.hash !== hash)
        return fail({
          stream: event.stream,
          revision: event.revision,
          position: event.position,
          eventId: event.id,
          reason: 'expected-head-missing',
          anchoredRevision: wanted.revision,
        });
      expected.delete(event.stream);
    }
    events += 1;
    lastPosition = event.position;
    if (events % 1000 === 0) options.onProgress?.(events, lastPosition);
  }
  const rows = await streamRevisions(store, only);
  const names = [...new Set([...heads.keys(), ...anchors.keys(), ...rows.keys()])].sort();
  let anchored = 0;
  let unanchored = 0;
  for (const stream of names) {
    const ends = checkEnd({
      stream,
      last: heads.get(stream),
      anchors: anchors.get(stream),
      row: rows.get(stream),
      publicKey,
    });
    if (ends.broken) return fail(ends.broken);
    if (ends.anchored) anchored += 1;
    else if (options.anchors && (heads.has(stream) || ends.unanchored === true)) {
      if (options.requireAnchors)
        return fail({
          stream,
          revision: heads.get(stream)?.revision ?? rows.get(stream)?.revision ?? 0,
          reason: 'unanchored',
          storedRevision: heads.get(stream)?.revision ?? null,
        });
      unanchored += 1;
    }
  }
  for (const wanted of expected.values()) {
    // A scavenge may have removed the expected head since: its start anchor then vouches.
    const start = startOf(anchors.get(wanted.stream), publicKey);
    if (typeof start === 'object' && start.revision > wanted.revision + 1) continue;
    if (
      typeof start === 'object' &&
      start.revision === wanted.revision + 1 &&
      start.prev === wanted.hash
    )
      continue;
    const last = heads.get(wanted.stream);
    return fail({
      stream: wanted.stream,
      revision: wanted.revision,
      reason: 'expected-head-missing',
      anchoredRevision: wanted.revision,
      storedRevision: last?.revision ?? null,
    });
  }
  const report: VerifyReport = { ok: true, streams: heads.size, events, lastPosition };
  if (options.anchors) {
    report.anchored = anchored;
    report.unanchored = unanchored;
  }
  return report;
}

/**
 * The head of every chained stream as its anchors record it (or, without anchors, as its last
 * event says), for keeping outside the store: `verifyStore(store, { expectHeads })` later finds
 * a store rolled back behind them. Signed anchors keep their signatures.
 *
 * @example
 * ```ts
 * writeFileSync('heads.json', JSON.stringify(await exportHeads(store, { anchors })));
 * ```
 */
export async function exportHeads(
  store: EventStore,
  options: { anchors?: VerifyStoreOptions['anchors']; stream?: string } = {},
): Promise<ChainHeadAnchor[]> {
  const anchors = await loadAnchors(options.anchors, options.stream);
  const out = new Map<string, ChainHeadAnchor>();
  for (const [stream, a] of anchors) {
    const head = readHeadAnchor(a.head, stream);
    if (head) out.set(stream, head);
  }
  for await (const summary of store.listStreams({
    includeDeleted: true,
    ...(options.stream !== undefined ? { prefix: options.stream } : {}),
  })) {
    if (out.has(summary.stream)) continue;
    if (options.stream !== undefined && summary.stream !== options.stream) continue;
    for await (const event of store.readAll({
      from: summary.lastPosition,
      limit: 1,
    })) {
      const hash = readIntegrity(event.metadata.integrity)?.hash;
      if (event.stream === summary.stream && hash !== undefined)
        out.set(summary.stream, { stream: summary.stream, revision: event.revision, hash });
    }
  }
  return [...out.values()].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
}

/** Every anchor (or `only`'s), by stream. */
async function loadAnchors(
  store: VerifyStoreOptions['anchors'],
  only: string | undefined,
): Promise<Map<string, ChainAnchors>> {
  const map = new Map<string, ChainAnchors>();
  if (!store) return map;
  if (only !== undefined) {
    const one = await store.load(only);
    if (one) map.set(only, one);
    return map;
  }
  let after: string | undefined;
  for (;;) {
    const page = await store.list({
      ...(after !== undefined ? { after } : {}),
      limit: ANCHOR_PAGE,
    });
    for (const a of page) map.set(a.stream, a);
    if (page.length < ANCHOR_PAGE) return map;
    after = page[page.length - 1]?.stream;
  }
}

/** What the store's stream row says. */
interface StreamRow {
  revision: number;
  tombstoned: boolean;
}

/** The revision of each stream row of the store (streams that ever had events). */
async function streamRevisions(
  store: EventStore,
  only: string | undefined,
): Promise<Map<string, StreamRow>> {
  const map = new Map<string, StreamRow>();
  for await (const s of store.listStreams({
    includeDeleted: true,
    ...(only !== undefined ? { prefix: only } : {}),
  }))
    if (only === undefined || s.stream === only)
      map.set(s.stream, { revision: s.revision, tombstoned: s.deleted === 'hard' });
  return map;
}

/** The stream's start anchor (checked), a fault, or undefined when it has none. */
function startOf(
  anchors: ChainAnchors | undefined,
  publicKey: KeyObject | undefined,
): ChainStartAnchor | BrokenLinkReason | undefined {
  if (!anchors) return undefined;
  if (anchors.malformed) return 'anchor-malformed';
  if (anchors.start === undefined || anchors.start === null) return undefined;
  const start = readStartAnchor(anchors.start, anchors.stream);
  if (!start || start.revision < 1) return 'anchor-malformed';
  if (publicKey) {
    const problem = anchorSignatureProblem('start', start, publicKey);
    if (problem) return `anchor-${problem}`;
  }
  return start;
}

/** Where a stream must end, by its anchors and its stream row, against its last event. */
function checkEnd(input: {
  stream: string;
  last: Seen | undefined;
  anchors: ChainAnchors | undefined;
  row: StreamRow | undefined;
  publicKey: KeyObject | undefined;
}): { broken?: BrokenLink; anchored: boolean; unanchored?: boolean } {
  const { stream, last, anchors, publicKey } = input;
  const storedRevision = last?.revision ?? null;
  const at = (reason: BrokenLinkReason, extra: Partial<BrokenLink> = {}) => ({
    anchored: false,
    broken: { stream, revision: storedRevision ?? 0, reason, storedRevision, ...extra },
  });
  const start = startOf(anchors, publicKey);
  if (typeof start === 'string') return at(start);
  let head: ChainHeadAnchor | undefined;
  if (anchors?.head !== undefined && anchors.head !== null) {
    head = readHeadAnchor(anchors.head, stream);
    if (!head || head.revision < 0) return at('anchor-malformed');
    if (publicKey) {
      const problem = anchorSignatureProblem('head', head, publicKey);
      if (problem) return at(`anchor-${problem}`, { anchoredRevision: head.revision });
    }
  }
  // Where the stored events end: the last one, or, with none left, just before the start.
  const end = last?.revision ?? (start ? start.revision - 1 : undefined);
  // A tombstone recorded in the anchor: the stream's events may be gone from reads.
  const tombstoned = head?.deleted === true;
  if (head) {
    const anchoredRevision = head.revision;
    const emptied =
      tombstoned ||
      (start !== undefined && start.revision === head.revision + 1 && start.prev === head.hash);
    if (!last && !emptied) {
      const from = start?.revision ?? 0;
      return at('stream-missing', {
        revision: from,
        anchoredRevision,
        missing: { from, to: head.revision },
      });
    }
    if (last && last.revision < head.revision)
      return at('truncated', {
        revision: last.revision + 1,
        anchoredRevision,
        missing: { from: last.revision + 1, to: head.revision },
      });
    if (last && (last.revision > head.revision || last.hash !== head.hash))
      return at('anchor-mismatch', { anchoredRevision });
  }
  const streamRevision = input.row?.revision ?? null;
  if (end === undefined) {
    if (streamRevision === null) return { anchored: head !== undefined };
    // A tombstone hides the events: the row must still end where the anchor does.
    if (head && tombstoned) {
      if (streamRevision !== head.revision)
        return at('head-mismatch', { revision: head.revision, streamRevision });
      return { anchored: true };
    }
    // A row marked tombstoned, no anchor to vouch for it: nothing to check it against.
    if (!head && input.row?.tombstoned === true) return { anchored: false, unanchored: true };
    // A stream row with no events, no anchors to explain it: its events were deleted.
    return at('stream-missing', {
      revision: 0,
      streamRevision,
      missing: { from: 0, to: streamRevision },
    });
  } else if (streamRevision !== end) {
    return at('head-mismatch', { revision: end, streamRevision });
  }
  return { anchored: head !== undefined };
}

function check(
  event: RecordedEvent,
  previous: { revision: number; hash: string } | undefined,
  publicKey: KeyObject | undefined,
): BrokenLinkReason | undefined {
  const integrity = readIntegrity(event.metadata.integrity);
  if (!integrity) return 'missing-integrity';
  const expectedRevision = previous ? previous.revision + 1 : 0;
  if (event.revision !== expectedRevision) return 'revision-gap';
  if (integrity.prev !== (previous?.hash ?? GENESIS_HASH)) return 'broken-link';
  const hash = linkHash(
    {
      stream: event.stream,
      revision: event.revision,
      id: event.id,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: event.data,
      metadata: withoutIntegrity(event.metadata),
    },
    integrity.prev,
  );
  if (hash !== integrity.hash) return 'hash-mismatch';
  if (publicKey) {
    if (typeof integrity.sig !== 'string') return 'unsigned';
    if (!verifyHashSignature(integrity.hash, integrity.sig, publicKey)) return 'bad-signature';
  }
  return undefined;
}

function toPublicKey(key: KeyObject | string | undefined): KeyObject | undefined {
  if (key === undefined) return undefined;
  let object: KeyObject;
  try {
    object = typeof key === 'string' ? createPublicKey(key) : key;
  } catch (error) {
    throw new SecurityConfigError('publicKey', 'is not a public key', { cause: error });
  }
  if (object.asymmetricKeyType !== 'ed25519')
    throw new SecurityConfigError('publicKey', 'must be an Ed25519 key');
  return object;
}
