import type { StreamSource } from '@causewayjs/core';
import { NexmarkGenerator, type NexmarkConfig } from './generator.js';
import type { NexmarkEvent } from './model.js';

/**
 * The Nexmark generator as a bounded, resumable stream source: `count` events made batch by
 * batch as the job reads them (positions are event numbers), as Nexmark's own source does
 * inside the job.
 *
 * @example
 * ```ts
 * const job = new StreamJob({ name: 'q5', source: nexmarkSource({ seed: 1 }, 1_000_000), timestamp: (e) => e.dateTime });
 * ```
 */
export function nexmarkSource(config: NexmarkConfig, count: number): StreamSource<NexmarkEvent> {
  const generator = new NexmarkGenerator(config);
  return {
    bounded: true,
    // Generation is synchronous; the async generator only gives the source its shape.
    // eslint-disable-next-line @typescript-eslint/require-await
    async *read({ after, batchSize, signal }) {
      for (let n = typeof after === 'number' ? after : 0; n < count && !signal.aborted;) {
        const end = Math.min(count, n + batchSize);
        yield { items: generator.events(n, end), position: end };
        n = end;
      }
    },
    head: () => Promise.resolve(count),
  };
}
