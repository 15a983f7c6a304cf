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
  check(value, root, new Set());
  return JSON.stringify(value);
}

/** Parses JSON text produced by {@link encodeJson}. */
export function decodeJson<T = unknown>(text: string): T {
  return JSON.parse(text) as T;
}

function check(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new NotJsonError(path, `${String(value)} is not a JSON number`);
      }
      return;
    case 'undefined':
      throw new NotJsonError(path, 'undefined is not a JSON value (use null)');
    case 'bigint':
      throw new NotJsonError(path, 'BigInt has no JSON form (store it as a string)');
    case 'function':
      throw new NotJsonError(path, 'functions have no JSON form');
    case 'symbol':
      throw new NotJsonError(path, 'symbols have no JSON form');
    case 'object':
      break;
  }
  if (value === null) return;
  const obj = value;
  if (ancestors.has(obj)) throw new NotJsonError(path, 'the value contains a cycle');
  ancestors.add(obj);
  if (Array.isArray(obj)) {
    const arr = obj as unknown[];
    for (let i = 0; i < arr.length; i++) {
      if (!(i in arr))
        throw new NotJsonError(
          `${path}[${i}]`,
          'sparse arrays have holes JSON would fill with null',
        );
      check(arr[i], `${path}[${i}]`, ancestors);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (obj.constructor as { name?: string } | undefined)?.name ?? 'object';
      const hint = obj instanceof Date ? ' (store date.toISOString() or a number)' : '';
      throw new NotJsonError(
        path,
        `a ${name} is not a plain object and would not read back as one${hint}`,
      );
    }
    for (const key of Object.keys(obj)) {
      const child = (obj as Record<string, unknown>)[key];
      if (child === undefined) continue;
      check(
        child,
        /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`,
        ancestors,
      );
    }
  }
  ancestors.delete(obj);
}
