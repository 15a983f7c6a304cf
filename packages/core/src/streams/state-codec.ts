/**
 * Encodes operator state for a checkpoint: JSON, plus the values operators commonly hold
 * that JSON would change (`Date`, ±Infinity, NaN), tagged as `{ "$date": ms }` and
 * `{ "$num": "Infinity" }`. Objects whose only key is `$date` or `$num` are reserved.
 */
export function encodeState(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return { $date: raw.getTime() };
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol')
      throw new TypeError(`a ${typeof v} at key "${key}" cannot be checkpointed`);
    if (v instanceof Map || v instanceof Set)
      throw new TypeError(`a ${v.constructor.name} at key "${key}" cannot be checkpointed`);
    return v;
  });
}

/** Decodes what {@link encodeState} wrote. */
export function decodeState(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1) {
        const o = v as { $date?: unknown; $num?: unknown };
        if (typeof o.$date === 'number') return new Date(o.$date);
        if (typeof o.$num === 'string') return Number(o.$num);
      }
    }
    return v;
  });
}
