/**
 * Collects an async iterable into an array. Meant for small reads and tests: it loads
 * everything into memory, which streamed reads otherwise avoid.
 *
 * @example
 * ```ts
 * const events = await collect(store.readStream('order-42'));
 * ```
 */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
