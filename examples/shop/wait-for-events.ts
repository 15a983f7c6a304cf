import type { EventStore, RecordedEvent } from '@causewayjs/core';

/**
 * Resolves with the first `count` events of type `type` in the store's log once there are
 * that many, woken by the store's commit notifications (polling every `pollMs` only on a
 * store without them). Rejects after `timeoutMs`.
 */
export async function waitForEvents(
  store: EventStore,
  type: string,
  count: number,
  options: { timeoutMs: number; pollMs?: number; signal?: AbortSignal },
): Promise<RecordedEvent[]> {
  const found: RecordedEvent[] = [];
  let next = 1;
  let wake: (() => void) | undefined;
  let dirty = true;
  const unwatch = store.watch?.(() => {
    dirty = true;
    wake?.();
  });
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      if (dirty) {
        dirty = false;
        for await (const event of store.readAll({ from: next, filter: { types: [type] } })) {
          next = event.position + 1;
          found.push(event);
          if (found.length >= count) return found;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted)
        throw new Error(`${found.length} of ${count} ${type} events after ${options.timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(
          () => {
            if (!unwatch) dirty = true;
            resolve();
          },
          unwatch ? left : Math.min(left, options.pollMs ?? 100),
        );
        if (dirty) resolve();
      });
      clearTimeout(timer);
      wake = undefined;
    }
  } finally {
    unwatch?.();
  }
}
