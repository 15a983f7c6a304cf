/**
 * Applies a JSON merge patch (RFC 7396) to a JSON value and returns the result, leaving both
 * untouched: a patch that is an object merges into `target` member by member, recursively
 * (`null` removes the member, `undefined` leaves it as it is); any other patch (an array, a
 * scalar, `null`) replaces `target` whole. A `target` that is not an object is replaced by an
 * object first when the patch is one. The result may share unchanged parts with its inputs.
 *
 * @example
 * ```ts
 * mergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] });
 * // { a: 1, b: { d: 3, e: 4 }, f: [1] }
 * ```
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isObject(target)) for (const [key, value] of Object.entries(target)) set(result, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete result[key];
    else set(result, key, mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own member, even one named `__proto__`, which assignment would not create. */
function set(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
