import { SecurityConfigError } from './security-errors.js';

/**
 * A field path into an event's data: `$.email`, `$.address.street` or `address.street`.
 * Only object keys (no array indexes or wildcards): a personal field is a named field.
 */
export type FieldPath = readonly string[];

/** Parses a dotted field path. */
export function parseFieldPath(path: string, where = 'path'): FieldPath {
  if (typeof path !== 'string') throw new SecurityConfigError(where, 'must be a string');
  const body = path.startsWith('$.') ? path.slice(2) : path;
  const parts = body.split('.');
  if (body === '' || parts.some((p) => p === '' || p === '__proto__'))
    throw new SecurityConfigError(where, `${JSON.stringify(path)} is not a field path like $.a.b`);
  return parts;
}

/** The canonical text of a path (`$.a.b`). */
export function formatFieldPath(path: FieldPath): string {
  return `$.${path.join('.')}`;
}

/** The value at `path`, and whether it is there. */
export function getField(data: unknown, path: FieldPath): { found: boolean; value?: unknown } {
  let current: unknown = data;
  for (const part of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current))
      return { found: false };
    if (!Object.prototype.hasOwnProperty.call(current, part)) return { found: false };
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current };
}

/** What {@link fieldValue} returns for a field that is not there. */
export const MISSING: unique symbol = Symbol('missing');

/**
 * The value at `path`, or {@link MISSING}: {@link getField} without a result object (reads
 * look up every personal field of every event).
 */
export function fieldValue(data: unknown, path: FieldPath): unknown {
  let current: unknown = data;
  for (let i = 0; i < path.length; i++) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return MISSING;
    const part = path[i] as string;
    if (!Object.prototype.hasOwnProperty.call(current, part)) return MISSING;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * A copy of `data` with `path` set to `value`: objects along the path are copied, the rest
 * shared. The path must exist.
 */
export function setField(data: unknown, path: FieldPath, value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const object = data as Record<string, unknown>;
  return { ...object, [head]: setField(object[head], rest, value) };
}

/**
 * A copy of `data` with each of `paths` set to the value at the same index of `values`:
 * every object along the paths is copied once (however many paths pass through it), the
 * rest shared. The paths must exist.
 */
export function setFields(
  data: unknown,
  paths: readonly FieldPath[],
  values: readonly unknown[],
): unknown {
  const root: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  let copies: Set<unknown> | undefined;
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i] as FieldPath;
    let object = root;
    for (let depth = 0; depth < path.length - 1; depth++) {
      const key = path[depth] as string;
      let child = object[key] as Record<string, unknown>;
      copies ??= new Set([root]);
      if (!copies.has(child)) {
        child = { ...child };
        object[key] = child;
        copies.add(child);
      }
      object = child;
    }
    object[path[path.length - 1] as string] = values[i];
  }
  return root;
}
