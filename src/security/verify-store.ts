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
  | 'bad-signature';

/** The first broken link found. */
export interface BrokenLink {
  stream: string;
  revision: number;
  position: number;
  eventId: string;
  reason: BrokenLinkReason;
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
  broken?: BrokenLink;
}

/** Options of {@link verifyStore}. */
export interface VerifyStoreOptions {
  /** Check this stream only. Default: every stream. */
  stream?: string;
  /** Ed25519 public key (KeyObject or SPKI PEM): every event must carry a valid signature. */
  publicKey?: KeyObject | string;
  /** Called every 1,000 events with the count so far (for progress bars). */
  onProgress?: (events: number, position: number) => void;
}

/**
 * Checks the hash chains written by {@link integrityEventStore}: for each stream, each event's
 * hash must match its content, name the previous event's hash, and follow its revision, and,
 * with `publicKey`, carry a valid signature. Reads the global log once, in position order,
 * keeping each stream's last hash in memory (about 100 bytes per stream). Stops at, and
 * reports, the first broken link.
 *
 * Run it on the store as stored (not through `encryptedEventStore`): hashes cover the
 * ciphertext, so forgotten subjects verify like any other event.
 *
 * @example
 * ```ts
 * const report = await verifyStore(store);
 * if (!report.ok) reportBroken(report.broken); // { stream, revision, position, eventId, reason }
 * ```
 */
export async function verifyStore(
  store: EventStore,
  options: VerifyStoreOptions = {},
): Promise<VerifyReport> {
  if (options.stream !== undefined) assertStreamName(options.stream);
  const publicKey = toPublicKey(options.publicKey);
  const heads = new Map<string, { revision: number; hash: string }>();
  let events = 0;
  let lastPosition = 0;
  const filter = options.stream !== undefined ? { streamPrefix: options.stream } : undefined;
  for await (const event of store.readAll(filter ? { filter } : {})) {
    if (options.stream !== undefined && event.stream !== options.stream) continue;
    const previous = heads.get(event.stream);
    const reason = check(event, previous, publicKey);
    if (reason !== undefined)
      return {
        ok: false,
        streams: heads.size + (previous ? 0 : 1),
        events,
        lastPosition,
        broken: {
          stream: event.stream,
          revision: event.revision,
          position: event.position,
          eventId: event.id,
          reason,
        },
      };
    heads.set(event.stream, {
      revision: event.revision,
      hash: readIntegrity(event.metadata.integrity)?.hash as string,
    });
    events += 1;
    lastPosition = event.position;
    if (events % 1000 === 0) options.onProgress?.(events, lastPosition);
  }
  return { ok: true, streams: heads.size, events, lastPosition };
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
