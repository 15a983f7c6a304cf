import { type CollectionSpec, isStorableString, valueAt } from './document-collection.js';
import {
  InvalidDocumentCursorError,
  InvalidDocumentQueryError,
  UnindexedFieldError,
} from './document-errors.js';
import {
  DEFAULT_DOCUMENT_PAGE_SIZE,
  DOCUMENT_ID_FIELD,
  MAX_DOCUMENT_PAGE_SIZE,
  type DocumentQuery,
  type DocumentScalar,
} from './documents.js';

/**
 * Where a field's value sorts, the same on every adapter: by `rank` (0 absent or null, 1
 * boolean, 2 number, 3 string, 4 array or object), then `num` (0/1 for booleans, the number
 * itself, else 0), then `str` (the string by code point, `'false'`/`'true'` for booleans, else
 * `''`). Arrays and objects all get the same key, so they go by id.
 *
 * The SQL adapters index the same triple: SQLite as (rank, `json_extract` value) since its
 * values keep their JSON type, PostgreSQL as (rank, numeric, text `COLLATE "C"`), so numbers
 * compare as numbers and strings as bytes of UTF-8, which is code point order.
 */
export interface SortKey {
  readonly rank: 0 | 1 | 2 | 3 | 4;
  readonly num: number;
  readonly str: string;
}

/** A comparison of a range condition. */
export type RangeOperator = 'gt' | 'gte' | 'lt' | 'lte';

/** One condition of a `where` clause, checked. */
export interface DocumentCondition {
  /** The declared index, or `id`. */
  readonly field: string;
  /** The index's path; undefined for the id. */
  readonly path: readonly string[] | undefined;
  readonly op: 'eq' | 'in' | RangeOperator;
  /**
   * The operands' keys: one for `eq` and ranges, any number for `in`. For the id, `str` is the
   * id (rank 3).
   */
  readonly keys: readonly SortKey[];
}

/** The order of a search, checked. */
export interface DocumentOrdering {
  /** The declared index, or `id`. */
  readonly field: string;
  /** The index's path; undefined for the id. */
  readonly path: readonly string[] | undefined;
  readonly descending: boolean;
}

/** Where a page starts: after this document, in the query's order. */
export interface DocumentCursor {
  /** The sort key of the ordering field (undefined when ordering by id). */
  readonly key: SortKey | undefined;
  readonly id: string;
}

/** A `find` query, checked. */
export interface ParsedDocumentQuery {
  readonly conditions: readonly DocumentCondition[];
  readonly order: DocumentOrdering;
  readonly limit: number;
  readonly after: DocumentCursor | undefined;
}

const NULL_KEY: SortKey = { rank: 0, num: 0, str: '' };
const COMPOSITE_KEY: SortKey = { rank: 4, num: 0, str: '' };
const QUERY_KEYS = new Set(['where', 'orderBy', 'limit', 'after']);
const OPERATORS = new Set(['eq', 'in', 'gt', 'gte', 'lt', 'lte']);
const RANGES = new Set<string>(['gt', 'gte', 'lt', 'lte']);
/** Most values of one `in`. */
const MAX_IN_VALUES = 1000;
const MAX_CURSOR_LENGTH = 4096;

/** The sort key of a field's value (undefined when absent). */
export function sortKeyOf(value: unknown): SortKey {
  switch (typeof value) {
    case 'boolean':
      return { rank: 1, num: value ? 1 : 0, str: value ? 'true' : 'false' };
    case 'number':
      return { rank: 2, num: value, str: '' };
    case 'string':
      return { rank: 3, num: 0, str: value };
    default:
      return value === null || value === undefined ? NULL_KEY : COMPOSITE_KEY;
  }
}

/** Compares two strings by Unicode code point (not by UTF-16 code unit, as `<` does). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitOrder(x) - unitOrder(y);
  }
  return a.length - b.length;
}

/** Compares two sort keys (see {@link SortKey}). */
export function compareSortKeys(a: SortKey, b: SortKey): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.num !== b.num) return a.num < b.num ? -1 : 1;
  return compareCodePoints(a.str, b.str);
}

/** The key a condition or an ordering compares for one document. */
export function keyOf(
  field: { path: readonly string[] | undefined },
  id: string,
  document: unknown,
): SortKey {
  return field.path === undefined
    ? { rank: 3, num: 0, str: id }
    : sortKeyOf(valueAt(document, field.path));
}

/** Whether a document meets every condition: the reference semantics the SQL adapters keep. */
export function meetsConditions(
  conditions: readonly DocumentCondition[],
  id: string,
  document: unknown,
): boolean {
  return conditions.every((c) => {
    const key = keyOf(c, id, document);
    if (c.op === 'in') return c.keys.some((k) => compareSortKeys(key, k) === 0);
    const operand = c.keys[0] as SortKey;
    const order = compareSortKeys(key, operand);
    switch (c.op) {
      case 'eq':
        return order === 0;
      case 'gt':
        return key.rank === operand.rank && order > 0;
      case 'gte':
        return key.rank === operand.rank && order >= 0;
      case 'lt':
        return key.rank === operand.rank && order < 0;
      case 'lte':
        return key.rank === operand.rank && order <= 0;
    }
  });
}

/** Compares two documents in a search's order (ties broken by id). */
export function compareInOrder(
  order: DocumentOrdering,
  a: DocumentCursor,
  b: DocumentCursor,
): number {
  const byKey = a.key && b.key ? compareSortKeys(a.key, b.key) : 0;
  const result = byKey !== 0 ? byKey : compareCodePoints(a.id, b.id);
  return order.descending ? -result : result;
}

/**
 * Checks a `where` clause against the collection's declared indexes and returns its
 * conditions, in a stable order (by field, then operator), so that one shape of query always
 * makes the same SQL.
 *
 * @throws {UnindexedFieldError} for a field that is neither declared nor `id`.
 * @throws {InvalidDocumentQueryError} for a malformed clause.
 */
export function parseWhere(spec: CollectionSpec, where: unknown): DocumentCondition[] {
  if (where === undefined) return [];
  if (!isPlainObject(where))
    throw new InvalidDocumentQueryError(spec.name, 'where must be an object { field: condition }');
  const conditions: DocumentCondition[] = [];
  for (const field of Object.keys(where).sort()) {
    const condition = where[field];
    if (condition === undefined) continue;
    const path = pathOf(spec, field);
    if (!isPlainObject(condition)) {
      conditions.push({ field, path, op: 'eq', keys: [operandKey(spec, field, condition)] });
      continue;
    }
    let rangeRank: number | undefined;
    const ops = Object.keys(condition)
      .filter((op) => condition[op] !== undefined)
      .sort();
    if (ops.length === 0)
      throw new InvalidDocumentQueryError(spec.name, `the condition on "${field}" is empty`);
    for (const op of ops) {
      if (!OPERATORS.has(op))
        throw new InvalidDocumentQueryError(
          spec.name,
          `unknown operator "${op}" on "${field}" (use eq, in, gt, gte, lt, lte)`,
        );
      const operand = condition[op];
      if (op === 'in') {
        if (!Array.isArray(operand) || operand.length > MAX_IN_VALUES)
          throw new InvalidDocumentQueryError(
            spec.name,
            `"in" on "${field}" takes an array of at most ${MAX_IN_VALUES} values`,
          );
        conditions.push({
          field,
          path,
          op: 'in',
          keys: (operand as unknown[]).map((v) => operandKey(spec, field, v)),
        });
        continue;
      }
      const key = operandKey(spec, field, operand);
      if (RANGES.has(op)) {
        if (key.rank !== 2 && key.rank !== 3)
          throw new InvalidDocumentQueryError(
            spec.name,
            `"${op}" on "${field}" compares with a number or a string`,
          );
        if (rangeRank !== undefined && rangeRank !== key.rank)
          throw new InvalidDocumentQueryError(
            spec.name,
            `the bounds on "${field}" mix a number and a string`,
          );
        rangeRank = key.rank;
      }
      conditions.push({ field, path, op: op as DocumentCondition['op'], keys: [key] });
    }
  }
  return conditions;
}

/**
 * Checks a `find` query: its conditions, order, limit and cursor.
 *
 * @throws {UnindexedFieldError} for a field that is neither declared nor `id`.
 * @throws {InvalidDocumentQueryError} for a malformed query.
 * @throws {InvalidDocumentCursorError} for a bad `after`.
 */
export function parseDocumentQuery(
  spec: CollectionSpec,
  query: DocumentQuery | undefined,
): ParsedDocumentQuery {
  if (query === undefined) query = {};
  if (!isPlainObject(query))
    throw new InvalidDocumentQueryError(
      spec.name,
      'a query is an object { where, orderBy, limit, after }',
    );
  for (const key of Object.keys(query))
    if (!QUERY_KEYS.has(key))
      throw new InvalidDocumentQueryError(
        spec.name,
        `unknown query option "${key}" (use where, orderBy, limit, after)`,
      );
  const conditions = parseWhere(spec, query.where);
  const order = parseOrder(spec, query.orderBy);
  const limit: unknown = query.limit ?? DEFAULT_DOCUMENT_PAGE_SIZE;
  if (
    typeof limit !== 'number' ||
    !Number.isSafeInteger(limit) ||
    limit < 1 ||
    limit > MAX_DOCUMENT_PAGE_SIZE
  )
    throw new InvalidDocumentQueryError(
      spec.name,
      `limit must be an integer from 1 to ${MAX_DOCUMENT_PAGE_SIZE}`,
    );
  const after = query.after === undefined ? undefined : decodeCursor(spec, order, query.after);
  return { conditions, order, limit, after };
}

/** The cursor of the page after the one ending with this document. */
export function encodeCursor(order: DocumentOrdering, id: string, document: unknown): string {
  const key = order.path === undefined ? undefined : sortKeyOf(valueAt(document, order.path));
  const body = {
    v: 1,
    f: order.field,
    d: order.descending ? 'desc' : 'asc',
    i: id,
    ...(key ? { k: [key.rank, key.num, key.str] } : {}),
  };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

function decodeCursor(
  spec: CollectionSpec,
  order: DocumentOrdering,
  after: unknown,
): DocumentCursor {
  const bad = (reason: string) => new InvalidDocumentCursorError(spec.name, reason);
  if (typeof after !== 'string' || after.length === 0 || after.length > MAX_CURSOR_LENGTH)
    throw bad('after must be the next cursor of a page');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    throw bad('it is not a cursor that find returned');
  }
  if (
    !isPlainObject(body) ||
    body.v !== 1 ||
    typeof body.i !== 'string' ||
    !isStorableString(body.i)
  )
    throw bad('it is not a cursor that find returned');
  const direction = order.descending ? 'desc' : 'asc';
  if (body.f !== order.field || body.d !== direction)
    throw bad(
      `it continues an order by ${JSON.stringify(body.f)} ${String(body.d)}, not by "${order.field}" ${direction}`,
    );
  if (order.path === undefined) {
    if (body.k !== undefined) throw bad('it is not a cursor that find returned');
    return { key: undefined, id: body.i };
  }
  const key = cursorKey(body.k);
  if (!key) throw bad('it is not a cursor that find returned');
  return { key, id: body.i };
}

/** A sort key from a cursor, if it is one {@link sortKeyOf} could have made. */
function cursorKey(k: unknown): SortKey | undefined {
  if (!Array.isArray(k) || k.length !== 3) return undefined;
  const [rank, num, str] = k as unknown[];
  if (typeof num !== 'number' || !Number.isFinite(num) || typeof str !== 'string') return undefined;
  if (!isStorableString(str)) return undefined;
  const key = (() => {
    switch (rank) {
      case 0:
        return NULL_KEY;
      case 1:
        return sortKeyOf(num === 1);
      case 2:
        return sortKeyOf(num);
      case 3:
        return sortKeyOf(str);
      case 4:
        return COMPOSITE_KEY;
      default:
        return undefined;
    }
  })();
  return key && key.num === num && key.str === str ? key : undefined;
}

function parseOrder(spec: CollectionSpec, orderBy: unknown): DocumentOrdering {
  if (orderBy === undefined)
    return { field: DOCUMENT_ID_FIELD, path: undefined, descending: false };
  const { field, direction } =
    typeof orderBy === 'string'
      ? { field: orderBy, direction: 'asc' as unknown }
      : isPlainObject(orderBy)
        ? { field: orderBy.field, direction: orderBy.direction ?? 'asc' }
        : { field: undefined, direction: undefined };
  if (typeof field !== 'string')
    throw new InvalidDocumentQueryError(
      spec.name,
      'orderBy is a field, or { field, direction: "asc" | "desc" }',
    );
  if (direction !== 'asc' && direction !== 'desc')
    throw new InvalidDocumentQueryError(spec.name, 'the direction of orderBy is "asc" or "desc"');
  return { field, path: pathOf(spec, field), descending: direction === 'desc' };
}

/** The path of a declared index; undefined for the id. */
function pathOf(spec: CollectionSpec, field: string): readonly string[] | undefined {
  if (field === DOCUMENT_ID_FIELD) return undefined;
  const path = spec.paths.get(field);
  if (!path) throw new UnindexedFieldError(spec.name, field, spec.indexes);
  return path;
}

function operandKey(spec: CollectionSpec, field: string, value: unknown): SortKey {
  if (field === DOCUMENT_ID_FIELD) {
    if (typeof value !== 'string' || !isStorableString(value))
      throw new InvalidDocumentQueryError(
        spec.name,
        `"id" is compared with strings (well-formed, without NUL)`,
      );
    return { rank: 3, num: 0, str: value };
  }
  if (typeof value === 'number' && !Number.isFinite(value))
    throw new InvalidDocumentQueryError(spec.name, `"${field}" is compared with a finite number`);
  if (typeof value === 'string' && !isStorableString(value))
    throw new InvalidDocumentQueryError(
      spec.name,
      `"${field}" is compared with a well-formed string without NUL`,
    );
  if (!isScalar(value))
    throw new InvalidDocumentQueryError(
      spec.name,
      `"${field}" is compared with a string, number, boolean or null (an array goes in { in: [...] })`,
    );
  return sortKeyOf(value);
}

function isScalar(value: unknown): value is DocumentScalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A UTF-16 code unit mapped so that comparing units gives code point order: surrogates
 * (which stand for code points above U+FFFF) move above U+E000–U+FFFF.
 */
function unitOrder(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
