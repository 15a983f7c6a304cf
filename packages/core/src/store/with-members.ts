/**
 * `target` with some members replaced; every other member is the target's own, functions
 * bound to it, so its private state keeps working. How a backend view hands out the shared
 * ports with its own store in them.
 */
export function withMembers<T extends object>(target: T, members: Partial<T>): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, property) {
      if (Object.prototype.hasOwnProperty.call(members, property))
        return (members as Record<PropertyKey, unknown>)[property];
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      let fn = bound.get(property);
      if (!fn) bound.set(property, (fn = (value as (...args: unknown[]) => unknown).bind(object)));
      return fn;
    },
  });
}
