import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  randomFillSync,
  type KeyObject,
} from 'node:crypto';
import { SecurityConfigError } from './security-errors.js';

/** A master key: 32 bytes for AES-256-GCM, with an id stored beside what it wraps. */
export interface MasterKey {
  /** Stable name of the key (e.g. `2026-01`); stored with each wrapped data key. */
  id: string;
  key: Uint8Array;
}

/** A master key as written in configuration: its id and 32 bytes in base64. */
export interface MasterKeyConfig {
  id: string;
  /** 32 random bytes, base64 (e.g. `openssl rand -base64 32`). */
  key: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const CHECK_TEXT = 'causeway-key-check-v1';

/**
 * Reads a master key from configuration.
 *
 * @throws {SecurityConfigError} unless the id is set and the key is 32 bytes of base64.
 */
export function parseMasterKey(config: MasterKeyConfig, path = 'masterKey'): MasterKey {
  if (typeof config !== 'object' || config === null)
    throw new SecurityConfigError(path, 'must be { id, key }');
  if (typeof config.id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(config.id))
    throw new SecurityConfigError(`${path}.id`, 'must be 1-64 letters, digits, ".", "_" or "-"');
  const key = typeof config.key === 'string' ? Buffer.from(config.key, 'base64') : undefined;
  if (!key || key.length !== 32 || key.toString('base64') !== config.key.replace(/\s/g, ''))
    throw new SecurityConfigError(`${path}.key`, 'must be 32 bytes in base64');
  return { id: config.id, key };
}

/** A new random master key (for set-up scripts and tests). */
export function generateMasterKey(id: string): MasterKeyConfig {
  return { id, key: randomBytes(32).toString('base64') };
}

// IVs are drawn from a pool of random bytes refilled in bulk: one call to the system's random
// source per 341 IVs instead of one per field (which dominated the cost of encrypting). Each
// IV is still 96 fresh random bits, used once.
const ivPool = Buffer.alloc(IV_BYTES * 341);
let ivOffset = ivPool.length;

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + IV_BYTES));
  ivOffset += IV_BYTES;
  return iv;
}

/** AES-256-GCM: `iv ‖ tag ‖ ciphertext`, authenticated with `aad`. */
export function seal(key: Uint8Array | KeyObject, plaintext: Uint8Array, aad: string): Buffer {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Opens what {@link seal} made; `undefined` when it does not authenticate. */
export function open(
  key: Uint8Array | KeyObject,
  sealed: Uint8Array,
  aad: string,
): Buffer | undefined {
  if (sealed.length < IV_BYTES + TAG_BYTES) return undefined;
  const buffer = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, buffer.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(buffer.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([
      decipher.update(buffer.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return undefined;
  }
}

// Reads open one seal per event (or per field), so what each open allocates counts. The
// sealed bytes and the AAD are decoded into this one buffer, reused by every open: it only
// ever holds ciphertext and AAD (never plaintext), and is used within one synchronous call.
const SCRATCH_BYTES = 16 * 1024;
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

/**
 * Opens what {@link seal} made from UTF-8 text and stored as base64 (from `start` in
 * `text`), straight to text; `undefined` when it does not authenticate. Give a `KeyObject`
 * (`createSecretKey`) for a key used again and again.
 */
export function openBase64Text(
  key: KeyObject,
  text: string,
  start: number,
  aad: string,
): string | undefined {
  const base64 = start === 0 ? text : text.slice(start);
  // Upper bounds: base64 gives at most 3 bytes per 4 characters, UTF-8 at most 3 per unit.
  const sealedMax = Math.ceil(base64.length / 4) * 3;
  let bytes: Buffer;
  let sealedLength: number;
  let aadStart: number;
  let aadLength: number;
  if (sealedMax + aad.length * 3 <= SCRATCH_BYTES) {
    bytes = scratch;
    sealedLength = scratch.write(base64, 0, sealedMax, 'base64');
    aadStart = sealedMax;
    aadLength = scratch.write(aad, sealedMax, 'utf8');
  } else {
    // A large field: a buffer of its own, so the shared one stays small.
    const sealed = Buffer.from(base64, 'base64');
    bytes = Buffer.concat([sealed, Buffer.from(aad, 'utf8')]);
    sealedLength = sealed.length;
    aadStart = sealedLength;
    aadLength = bytes.length - sealedLength;
  }
  if (sealedLength < IV_BYTES + TAG_BYTES) return undefined;
  // Plain views of the parts (cheaper to make than Buffer slices; node:crypto takes any).
  const { buffer, byteOffset } = bytes;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      key,
      new Uint8Array(buffer, byteOffset, IV_BYTES),
    );
    decipher.setAAD(new Uint8Array(buffer, byteOffset + aadStart, aadLength));
    decipher.setAuthTag(new Uint8Array(buffer, byteOffset + IV_BYTES, TAG_BYTES));
    const plaintext = decipher.update(
      new Uint8Array(
        buffer,
        byteOffset + IV_BYTES + TAG_BYTES,
        sealedLength - IV_BYTES - TAG_BYTES,
      ),
    );
    // GCM authenticates in final(): it throws (caught below) when the tag does not match.
    // Nothing is returned (not even the text) before it has.
    decipher.final();
    return plaintext.toString();
  } catch {
    return undefined;
  }
}

/** Wraps a subject's data key with a master key (the subject is bound in). */
export function wrapDataKey(master: MasterKey, subject: string, dataKey: Uint8Array): Buffer {
  return seal(master.key, dataKey, `causeway-data-key\n${master.id}\n${subject}`);
}

/** Unwraps a data key; `undefined` when the master key or subject does not match. */
export function unwrapDataKey(
  master: MasterKey,
  subject: string,
  wrapped: Uint8Array,
): Buffer | undefined {
  return open(master.key, wrapped, `causeway-data-key\n${master.id}\n${subject}`);
}

/** The value stored to recognise `master` at start-up. */
export function makeKeyCheck(master: MasterKey): Buffer {
  return seal(master.key, Buffer.from(CHECK_TEXT, 'utf8'), `causeway-key-check\n${master.id}`);
}

/** Whether `value` was made by {@link makeKeyCheck} with this very key. */
export function matchesKeyCheck(master: MasterKey, value: Uint8Array): boolean {
  return (
    open(master.key, value, `causeway-key-check\n${master.id}`)?.toString('utf8') === CHECK_TEXT
  );
}
