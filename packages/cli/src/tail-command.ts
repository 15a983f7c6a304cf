import type { ReadAllFilter } from '@causewayjs/core';
import { type CliIo, printJsonLine, printLine } from './cli-io.js';
import { toEventJson } from './event-json.js';
import { formatEvent } from './read-command.js';
import type { StoreContext } from './store-context.js';

const PAGE = 500;

/** Options of {@link tailEvents}. */
export interface TailOptions {
  /** First position shown; default: only events committed from now on. */
  from?: number;
  filter?: ReadAllFilter;
  /** Stop after this many events (default: run until interrupted). */
  limit?: number;
  json?: boolean;
  /** How often to look at the head when the store cannot notify commits (ms, default 200). */
  pollIntervalMs?: number;
}

/**
 * Follows the global log live: prints events as they commit, until interrupted (the io's
 * signal) or `limit` events were shown. Woken by the store's commit notifications; polls the
 * head only on a store without them. Returns how many events were printed.
 */
export async function tailEvents(
  context: StoreContext,
  io: CliIo,
  options: TailOptions = {},
): Promise<number> {
  const store = context.store;
  let next = options.from ?? (await store.headPosition()) + 1;
  let shown = 0;
  let wake: (() => void) | undefined;
  let pending = false;
  const notify = () => {
    pending = true;
    wake?.();
  };
  const unwatch = store.watch ? store.watch(notify) : undefined;
  const onAbort = () => wake?.();
  io.signal.addEventListener('abort', onAbort);
  try {
    while (!io.signal.aborted && !store.isClosed) {
      pending = false;
      // Every event up to this head is visible to the read below, so a short read means
      // nothing more matches up to it (a filter may have passed over many events).
      const head = await store.headPosition();
      let read = 0;
      for await (const event of store.readAll({
        from: next,
        limit: PAGE,
        ...(options.filter ? { filter: options.filter } : {}),
      })) {
        read++;
        next = event.position + 1;
        if (options.json) printJsonLine(io, toEventJson(event));
        else printLine(io, formatEvent(event));
        shown++;
        if (options.limit !== undefined && shown >= options.limit) return shown;
      }
      if (read === PAGE) continue;
      next = Math.max(next, head + 1);
      if (pending) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (io.signal.aborted || pending) resolve();
        else if (!unwatch) setTimeout(resolve, options.pollIntervalMs ?? 200).unref();
      });
      wake = undefined;
    }
    return shown;
  } finally {
    io.signal.removeEventListener('abort', onAbort);
    unwatch?.();
  }
}
