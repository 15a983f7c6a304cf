import type { RecordedEvent } from '../core/envelope.js';
import type { BusSubscribeOptions, BusSubscription, MessageBus } from '../bus/message-bus.js';
import { InvalidStreamDefinitionError, StreamSourceStoppedError } from './stream-errors.js';
import { queueSource, type StreamSource } from './stream-source.js';

/** Options of {@link busSource}: a bus subscription's, without the handler. */
export type BusSourceOptions = Omit<BusSubscribeOptions, 'handler'>;

/**
 * A message-bus consumer group as a source (positions are the events' store positions). Each
 * message is acknowledged to the bus only once the job has committed it (its checkpoint
 * covers the event's position), so a job killed before then gets it redelivered, and a
 * redelivery of what a checkpoint already holds is skipped: exactly-once with checkpoints.
 * Run one member per job: the positions must arrive in order.
 *
 * @example
 * ```ts
 * const job = new StreamJob({ name: 'orders-per-minute', source: busSource(bus, { group: 'analytics', subjects: ['order.>'] }), checkpoints });
 * ```
 */
export function busSource(bus: MessageBus, options: BusSourceOptions): StreamSource<RecordedEvent> {
  if (typeof bus !== 'object' || bus === null || typeof bus.subscribe !== 'function')
    throw new InvalidStreamDefinitionError('busSource', 'needs a message bus');
  if (typeof options?.group !== 'string' || options.group.length === 0)
    throw new InvalidStreamDefinitionError('busSource', 'needs { group } (the consumer group)');
  let current: ReturnType<typeof queueSource<RecordedEvent>> | undefined;
  return {
    bounded: false,
    async *read(readOptions) {
      const queue = queueSource<RecordedEvent>();
      current = queue;
      let subscription: BusSubscription | undefined;
      try {
        subscription = await bus.subscribe({
          ...options,
          handler: (event) => queue.push([event], event.position),
        });
        yield* queue.read(readOptions);
      } finally {
        current = undefined;
        // Handlers still waiting for a commit fail: the bus delivers those messages again.
        queue.abandon(new StreamSourceStoppedError());
        await subscription?.stop();
      }
    },
    committed(position) {
      current?.committed?.(position);
    },
  };
}
