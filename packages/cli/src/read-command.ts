import type { RecordedEvent, ReadAllFilter } from '@causewayjs/core';
import { type CliIo, printJsonLine, printLine } from './cli-io.js';
import { toEventJson } from './event-json.js';
import type { StoreContext } from './store-context.js';

/** Options of {@link readEvents}. */
export interface ReadCommandOptions {
  /** One stream; without it, the global log. */
  stream?: string;
  /** First revision (stream) or position (log). */
  from?: number;
  backward?: boolean;
  limit?: number;
  /** Log only: filters. */
  filter?: ReadAllFilter;
  /** One JSON line per event instead of text. */
  json?: boolean;
}

/** One event as a line of text: `#revision @position type data`. */
export function formatEvent(event: RecordedEvent): string {
  return `${event.stream} #${event.revision} @${event.position} ${event.recordedAt.toISOString()} ${event.type} ${JSON.stringify(event.data)}`;
}

/**
 * Prints a stream's events (or the global log's), streamed. Returns how many were printed.
 * A stream that does not exist prints nothing; a tombstoned one throws `StreamDeletedError`.
 */
export async function readEvents(
  context: StoreContext,
  io: CliIo,
  options: ReadCommandOptions,
): Promise<number> {
  const direction = options.backward ? 'backward' : 'forward';
  const events =
    options.stream === undefined
      ? context.store.readAll({
          direction,
          ...(options.from === undefined ? {} : { from: options.from }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          ...(options.filter ? { filter: options.filter } : {}),
        })
      : context.store.readStream(options.stream, {
          direction,
          ...(options.from === undefined ? {} : { from: options.from }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
        });
  let count = 0;
  for await (const event of events) {
    if (io.signal.aborted) break;
    if (options.json) printJsonLine(io, toEventJson(event));
    else printLine(io, formatEvent(event));
    count++;
  }
  return count;
}
