import type { RecordedEvent } from '../core/envelope.js';
import { toHandlerResult } from '../subscriptions/event-handler.js';
import {
  HandlerTimeoutError,
  InvalidHandlerResultError,
  NonErrorThrownError,
} from '../subscriptions/subscription-errors.js';
import type { ProjectionBuild, ProjectionDefinition } from './projection.js';
import { ProjectionApplyError } from './projection-errors.js';

/**
 * Applies one event to a build inside the caller's transaction, where nothing can be retried
 * or parked: anything but a prompt, plain success throws {@link ProjectionApplyError}, which
 * rolls the transaction back. Non-`Error` throws, `nack` or other return values and calls
 * running past `timeoutMs` all count as failures.
 */
export async function applyInline<RM>(
  definition: ProjectionDefinition<RM>,
  build: ProjectionBuild,
  event: RecordedEvent,
  readModel: RM,
  timeoutMs: number,
): Promise<void> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new HandlerTimeoutError(
          `projection:${build.name}`,
          event.position,
          timeoutMs,
        );
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const applied = (async () =>
      definition.apply(event, readModel, {
        projection: build.name,
        version: build.version,
        attempt: 1,
        signal: controller.signal,
      }))();
    const result = await Promise.race([applied, timeout]);
    // Inline, there is no later: only a plain acknowledgement will do.
    if (result !== undefined && toHandlerResult(result).action !== 'ack')
      throw new InvalidHandlerResultError(result);
  } catch (thrown) {
    throw new ProjectionApplyError(
      build.name,
      build.version,
      event.stream,
      event.type,
      thrown instanceof Error ? thrown : new NonErrorThrownError(thrown),
    );
  } finally {
    clearTimeout(timer);
  }
}
