import { InvalidArgumentError, NotJsonError } from '../core/errors.js';
import { encodeJson } from '../core/json-codec.js';
import { InvalidDocumentError, InvalidDocumentIdError } from './document-errors.js';
import {
  DOCUMENT_ID_FIELD,
  MAX_DOCUMENT_ID_LENGTH,
  MAX_DOCUMENT_INDEXES,
  MAX_INDEXED_STRING_BYTES,
  type DocumentsOptions,
} from './documents.js';
import { buildTableName, type ProjectionBuild } from './projection.js';

/**
 * A collection of documents as `documents(name, options)` declared it, checked: what every
 * adapter's implementation of `Documents` works from.
 */
export interface CollectionSpec {
  /** The name given to `documents()`. */
  readonly name: string;
  /** Its table (or in-memory collection) in the build: `buildTableName(build, name)`. */
  readonly table: string;
  /** The declared indexes, as given. */
  readonly indexes: readonly string[];
  /** Each declared index split at its dots. */
  readonly paths: ReadonlyMap<string, readonly string[]>;
}

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Longest index path, in characters. */
const MAX_PATH_LENGTH = 200;
/** A lone surrogate: half of a pair without the other half (not well-formed Unicode). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Checks the name and options given to `documents()` for `build`.
 *
 * @throws {InvalidArgumentError} naming the bad name or index.
 */
export function collectionSpec(
  build: ProjectionBuild,
  name: unknown,
  options: DocumentsOptions | undefined,
): CollectionSpec {
  if (typeof name !== 'string')
    throw new InvalidArgumentError('name', 'a collection needs a name (lowercase snake case)');
  const table = buildTableName(build, name);
  if (options !== undefined && (typeof options !== 'object' || options === null))
    throw new InvalidArgumentError('options', 'must be an object { indexes }');
  const indexes: unknown = options?.indexes ?? [];
  if (!Array.isArray(indexes))
    throw new InvalidArgumentError('indexes', 'must be an array of field paths');
  if (indexes.length > MAX_DOCUMENT_INDEXES)
    throw new InvalidArgumentError('indexes', `at most ${MAX_DOCUMENT_INDEXES} per collection`);
  const paths = new Map<string, readonly string[]>();
  for (const index of indexes as unknown[]) {
    if (
      typeof index !== 'string' ||
      index.length > MAX_PATH_LENGTH ||
      !index.split('.').every((s) => SEGMENT.test(s))
    )
      throw new InvalidArgumentError(
        'indexes',
        `${JSON.stringify(index) ?? String(index)} must be a field path: dot-separated names of letters, digits and underscores, not starting with a digit`,
      );
    if (index === DOCUMENT_ID_FIELD)
      throw new InvalidArgumentError('indexes', '"id" is the document id, always indexed');
    if (paths.has(index)) throw new InvalidArgumentError('indexes', `"${index}" is declared twice`);
    paths.set(index, index.split('.'));
  }
  return { name, table, indexes: [...paths.keys()], paths };
}

/**
 * Whether `text` is well-formed Unicode (no lone surrogate) without NUL: what every adapter
 * can store and compare alike (PostgreSQL refuses NUL in text and lone surrogates in jsonb).
 */
export function isStorableString(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/**
 * Throws unless `id` can be a document id: a string of 1 to {@link MAX_DOCUMENT_ID_LENGTH}
 * code units, well-formed Unicode, without NUL.
 *
 * @throws {InvalidDocumentIdError}
 */
export function checkDocumentId(spec: CollectionSpec, id: unknown): asserts id is string {
  if (typeof id !== 'string')
    throw new InvalidDocumentIdError(spec.name, id, 'an id must be a string');
  if (id.length === 0 || id.length > MAX_DOCUMENT_ID_LENGTH)
    throw new InvalidDocumentIdError(
      spec.name,
      id,
      `an id has 1 to ${MAX_DOCUMENT_ID_LENGTH} characters`,
    );
  if (!isStorableString(id))
    throw new InvalidDocumentIdError(
      spec.name,
      id,
      'an id must be well-formed Unicode (no lone surrogate) without NUL',
    );
}

/**
 * Throws unless `ids` is an array of document ids (see {@link checkDocumentId}).
 *
 * @throws {InvalidArgumentError} when it is not an array.
 * @throws {InvalidDocumentIdError} for the first bad id.
 */
export function checkDocumentIds(
  spec: CollectionSpec,
  ids: unknown,
): asserts ids is readonly string[] {
  if (!Array.isArray(ids)) throw new InvalidArgumentError('ids', 'must be an array of ids');
  for (const id of ids as unknown[]) checkDocumentId(spec, id);
}

/**
 * Checks a document and returns its JSON text: a JSON value (see `encodeJson`) whose strings
 * and keys are storable ({@link isStorableString}) and whose indexed strings are at most
 * {@link MAX_INDEXED_STRING_BYTES} bytes.
 *
 * @throws {InvalidDocumentError} naming where the document is wrong.
 */
export function encodeDocument(spec: CollectionSpec, id: string, document: unknown): string {
  let json: string;
  try {
    json = encodeJson(document);
  } catch (error) {
    if (error instanceof NotJsonError)
      throw new InvalidDocumentError(spec.name, id, error.path, error.reason, error);
    throw error;
  }
  // JSON.stringify writes NUL and lone surrogates as \u escapes (ES2019): JSON text without
  // one holds neither, and the walk over every string and key is spared.
  const bad = json.includes('\\u') ? badString(document) : undefined;
  if (bad)
    throw new InvalidDocumentError(
      spec.name,
      id,
      `$${bad.map(formatSegment).join('')}`,
      'strings and keys must be well-formed Unicode (no lone surrogate) without NUL',
    );
  for (const [index, path] of spec.paths) {
    const value = valueAt(document, path);
    if (typeof value === 'string' && utf8Length(value) > MAX_INDEXED_STRING_BYTES)
      throw new InvalidDocumentError(
        spec.name,
        id,
        `$.${index}`,
        `an indexed string is at most ${MAX_INDEXED_STRING_BYTES} bytes of UTF-8`,
      );
  }
  return json;
}

/**
 * The value at a field path of a document: object members only (an array or a scalar on the
 * way makes it undefined), as the adapters' JSON path expressions read it.
 */
export function valueAt(document: unknown, path: readonly string[]): unknown {
  let value = document;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (!Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** The path of the first string or key that is not storable, or undefined. */
function badString(value: unknown): (string | number)[] | undefined {
  if (typeof value === 'string') return isStorableString(value) ? undefined : [];
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = badString(value[i]);
      if (found) return [i, ...found];
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (!isStorableString(key)) return [key];
    const found = badString(child);
    if (found) return [key, ...found];
  }
  return undefined;
}

function formatSegment(segment: string | number): string {
  if (typeof segment === 'number') return `[${segment}]`;
  return SEGMENT.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Throws unless `patch` is a JSON value, as a merge patch must be.
 *
 * @throws {InvalidDocumentError} naming where the patch is wrong.
 */
export function checkPatch(spec: CollectionSpec, id: string, patch: unknown): void {
  try {
    encodeJson(patch);
  } catch (error) {
    if (error instanceof NotJsonError)
      throw new InvalidDocumentError(
        spec.name,
        id,
        error.path,
        `the patch is not JSON: ${error.reason}`,
        error,
      );
    throw error;
  }
}
