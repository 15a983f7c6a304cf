import { NotJsonError } from './errors.js';

/**
 * Encodes a value as JSON text, refusing anything JSON would silently change or drop:
 * `undefined` as a value or array element, BigInt, functions, symbols, NaN and ±Infinity,
 * cycles, sparse arrays, and non-plain objects (Date, Map, Set, class instances), whose
 * JSON form would read back as something else. Object properties whose value is `undefined`
 * are omitted, as they read back as absent, which is the same thing.
 *
 * @throws {NotJsonError} naming the JSON path of the first offending value.
 * @example
 * ```ts
 * encodeJson({ total: 10n }); // throws NotJsonError: Value at $.total cannot be stored as JSON: BigInt ...
 * ```
 */
export function encodeJson(value: unknown, root = '$'): string {
  // The walk is not re-entered but by a getter calling encodeJson: that call gets a stack of
  // its own instead of the shared one.
  const ancestors = shared.inUse ? { items: [], deepest: 0, inUse: true } : shared;
  ancestors.inUse = true;
  try {
    walk(value, ancestors, 0);
  } catch (error) {
    if (error instanceof Refusal)
      throw new NotJsonError(root + formatPath(error.path), error.reason);
    throw error;
  } finally {
    // Nothing of the value stays reachable from the shared stack.
    ancestors.items.fill(undefined, 0, ancestors.deepest);
    ancestors.deepest = 0;
    ancestors.inUse = false;
  }
  return JSON.stringify(value);
}

/**
 * The objects on the walk's current path, `items[0]` to `items[depth - 1]`, for finding
 * cycles. One stack is kept and reused: a new array per call, pushed to and popped, was most
 * of what the walk allocated (V8 frees the storage of an array emptied by `pop`).
 */
interface Ancestors {
  items: (object | undefined)[];
  /** Deepest depth written since the last clearing. */
  deepest: number;
  inUse: boolean;
}

const shared: Ancestors = { items: [], deepest: 0, inUse: false };

/** Parses JSON text produced by {@link encodeJson}. */
export function decodeJson<T = unknown>(text: string): T {
  return JSON.parse(text) as T;
}

/**
 * Thrown inside the walk and completed with the path on the way out, so the common case
 * (nothing wrong) never builds a path string.
 */
class Refusal extends Error {
  readonly path: (string | number)[] = [];
  constructor(readonly reason: string) {
    super(reason);
  }
}

function refusalOf(value: unknown): Refusal | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : new Refusal(`${String(value)} is not a JSON number`);
    case 'undefined':
      return new Refusal('undefined is not a JSON value (use null)');
    case 'bigint':
      return new Refusal('BigInt has no JSON form (store it as a string)');
    case 'function':
      return new Refusal('functions have no JSON form');
    case 'symbol':
      return new Refusal('symbols have no JSON form');
    default:
      return undefined;
  }
}

function walk(value: unknown, ancestors: Ancestors, depth: number): void {
  if (typeof value !== 'object') {
    const refusal = refusalOf(value);
    if (refusal) throw refusal;
    return;
  }
  if (value === null) return;
  const path = ancestors.items;
  for (let i = 0; i < depth; i++)
    if (path[i] === value) throw new Refusal('the value contains a cycle');
  path[depth] = value;
  if (depth >= ancestors.deepest) ancestors.deepest = depth + 1;
  if (Array.isArray(value)) {
    const arr = value as unknown[];
    for (let i = 0; i < arr.length; i++) {
      const child = arr[i];
      if (typeof child === 'string' || typeof child === 'boolean') continue;
      try {
        if (child === undefined && !(i in arr))
          throw new Refusal('sparse arrays have holes JSON would fill with null');
        walk(child, ancestors, depth + 1);
      } catch (error) {
        if (error instanceof Refusal) error.path.unshift(i);
        throw error;
      }
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value.constructor as { name?: string } | undefined)?.name ?? 'object';
      const hint = value instanceof Date ? ' (store date.toISOString() or a number)' : '';
      throw new Refusal(`a ${name} is not a plain object and would not read back as one${hint}`);
    }
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const child = (value as Record<string, unknown>)[key];
      if (child === undefined || typeof child === 'string' || typeof child === 'boolean') continue;
      try {
        walk(child, ancestors, depth + 1);
      } catch (error) {
        if (error instanceof Refusal) error.path.unshift(key);
        throw error;
      }
    }
  }
}

function formatPath(path: readonly (string | number)[]): string {
  return path
    .map((p) =>
      typeof p === 'number'
        ? `[${p}]`
        : /^[A-Za-z_$][\w$]*$/.test(p)
          ? `.${p}`
          : `[${JSON.stringify(p)}]`,
    )
    .join('');
}
