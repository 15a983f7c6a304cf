import { createHash, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { signHash, verifyHashSignature } from './hash-chain.js';

/**
 * Where a stream's hash chain ends, as the integrity layer recorded it in the same transaction
 * as the append that moved it: the revision and hash of the stream's last event, signed when a
 * signing key is configured. `verifyStore` compares it with the stored rows, which finds events
 * removed at the end of a stream, or every event of it.
 */
export interface ChainHeadAnchor {
  stream: string;
  /** Revision of the stream's last event. */
  revision: number;
  /** That event's link hash. */
  hash: string;
  /**
   * True once the stream was tombstoned through the integrity layer: its events may be gone
   * from reads (and, after a scavenge, from the database) without that being tampering.
   */
  deleted?: boolean;
  /** Ed25519 signature (base64) of {@link anchorDigest} of the head, when signing is on. */
  sig?: string;
  /** Id of the signing key. */
  kid?: string;
}

/**
 * Where a stream's chain starts once a scavenge has removed its first events: the first
 * revision still stored and the hash of the event before it (the `prev` that first kept event
 * names). Without one, a chain starts at revision 0 from the genesis hash. Written by
 * {@link recordChainStart} in the scavenge's transaction.
 */
export interface ChainStartAnchor {
  stream: string;
  /** First revision kept (one past the head when every event was removed). */
  revision: number;
  /** Hash of the last removed event (revision - 1). */
  prev: string;
  sig?: string;
  kid?: string;
}

/** A stream's anchors, as stored. */
export interface ChainAnchors {
  stream: string;
  head?: ChainHeadAnchor;
  start?: ChainStartAnchor;
  /** True when a stored anchor could not be decoded (its row was edited). */
  malformed?: boolean;
}

/** What a head or start anchor's signature covers: SHA-256 (hex) of its canonical fields. */
export function anchorDigest(
  kind: 'head' | 'start',
  anchor: { stream: string; revision: number; hash?: string; prev?: string; deleted?: boolean },
): string {
  const fields = [
    `causeway-chain-${kind}-v1`,
    anchor.stream,
    anchor.revision,
    kind === 'head' ? anchor.hash : anchor.prev,
  ];
  if (kind === 'head' && anchor.deleted === true) fields.push('deleted');
  const body = canonicalJson(fields);
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** The anchor, signed with `key` (and labelled `keyId`) when a key is given. */
export function sealAnchor<A extends ChainHeadAnchor | ChainStartAnchor>(
  kind: A extends ChainHeadAnchor ? 'head' : 'start',
  anchor: A,
  signing: { key?: KeyObject | undefined; keyId?: string | undefined },
): A {
  const { sig: _sig, kid: _kid, ...bare } = anchor;
  if (!signing.key) return bare as A;
  const sealed = { ...bare, sig: signHash(anchorDigest(kind, bare), signing.key) } as A;
  if (signing.keyId !== undefined) sealed.kid = signing.keyId;
  return sealed;
}

/** Why an anchor is not trusted with `publicKey`: `'unsigned'`, `'bad-signature'`, or undefined. */
export function anchorSignatureProblem(
  kind: 'head' | 'start',
  anchor: ChainHeadAnchor | ChainStartAnchor,
  publicKey: KeyObject,
): 'unsigned' | 'bad-signature' | undefined {
  if (typeof anchor.sig !== 'string') return 'unsigned';
  return verifyHashSignature(anchorDigest(kind, anchor), anchor.sig, publicKey)
    ? undefined
    : 'bad-signature';
}

/** `value` when it is a well-formed head anchor of `stream`. */
export function readHeadAnchor(value: unknown, stream: string): ChainHeadAnchor | undefined {
  const a = value as Partial<ChainHeadAnchor> | null;
  if (typeof a !== 'object' || a === null) return undefined;
  if (a.stream !== stream || !Number.isSafeInteger(a.revision) || typeof a.hash !== 'string')
    return undefined;
  return a as ChainHeadAnchor;
}

/** `value` when it is a well-formed start anchor of `stream`. */
export function readStartAnchor(value: unknown, stream: string): ChainStartAnchor | undefined {
  const a = value as Partial<ChainStartAnchor> | null;
  if (typeof a !== 'object' || a === null) return undefined;
  if (a.stream !== stream || !Number.isSafeInteger(a.revision) || typeof a.prev !== 'string')
    return undefined;
  return a as ChainStartAnchor;
}
