import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** The `prev` of a stream's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** What `metadata.integrity` holds on a hash-chained event. */
export interface IntegrityMetadata {
  /** Version of the hashing rules. */
  v: 1;
  /** SHA-256 (hex) of the event's content and `prev`. */
  hash: string;
  /** Hash of the stream's previous event ({@link GENESIS_HASH} for the first). */
  prev: string;
  /** Ed25519 signature (base64) of `hash`, when signing is configured. */
  sig?: string;
  /** Id of the signing key. */
  kid?: string;
}

/** The parts of an event a chain link covers. */
export interface ChainedContent {
  stream: string;
  revision: number;
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  /** Metadata without `integrity`. */
  metadata: Record<string, unknown>;
}

/**
 * The hash of one link: SHA-256 over the canonical JSON of the event's stream, revision, id,
 * type, schema version, data and metadata (all but `integrity`), and the previous hash. The
 * store-assigned `position` and `recordedAt` are not covered (they are not known before the
 * append); the revision and the chain order are.
 */
export function linkHash(content: ChainedContent, prev: string): string {
  const body = canonicalJson([
    'causeway-integrity-v1',
    content.stream,
    content.revision,
    content.id,
    content.type,
    content.schemaVersion,
    content.data,
    content.metadata,
    prev,
  ]);
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** Ed25519 signature of a link hash, base64. */
export function signHash(hash: string, key: KeyObject): string {
  return sign(null, Buffer.from(hash, 'hex'), key).toString('base64');
}

/** Checks an Ed25519 signature of a link hash. */
export function verifyHashSignature(hash: string, signature: string, key: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(hash, 'hex'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** Metadata without its `integrity` key. */
export function withoutIntegrity(metadata: Record<string, unknown>): Record<string, unknown> {
  const { integrity: _integrity, ...rest } = metadata;
  return rest;
}

/** `metadata.integrity` when well formed. */
export function readIntegrity(value: unknown): IntegrityMetadata | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const i = value as Partial<IntegrityMetadata>;
  if (i.v !== 1 || typeof i.hash !== 'string' || typeof i.prev !== 'string') return undefined;
  return i as IntegrityMetadata;
}
