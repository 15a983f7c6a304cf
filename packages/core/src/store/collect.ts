import { readInto } from './reading.js';

/**
 * Collects an async iterable into an array. Meant for small reads and tests: it loads
 * everything into memory, which streamed reads otherwise avoid.
 *
 * @example
 * ```ts
 * const events = await collect(store.readStream('order-42'));
 * ```
 */
export function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  return readInto(iterable, []);
}
