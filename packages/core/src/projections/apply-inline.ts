import type { RecordedEvent } from '../core/envelope.js';
import { toHandlerResult, type HandlerResult } from '../subscriptions/event-handler.js';
import {
  HandlerTimeoutError,
  InvalidHandlerResultError,
  NonErrorThrownError,
} from '../subscriptions/subscription-errors.js';
import type { ProjectionBuild, ProjectionDefinition } from './projection.js';
import { ProjectionApplyError } from './projection-errors.js';
import { inSpan } from '../observability/tracing.js';
import { applySpanOptions } from '../observability/apply-span.js';

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
  await callInline(build, event, timeoutMs, (signal) =>
    inSpan('causeway.projection.apply', applySpanOptions(build.name, build.version, event), () =>
      definition.apply(event, readModel, {
        projection: build.name,
        version: build.version,
        attempt: 1,
        signal,
      }),
    ),
  );
}

/**
 * Hands a forget notice (`subject.forgotten`) to a build's `forget` hook inside the caller's
 * transaction, failing as {@link applyInline} does.
 */
export async function forgetInline<RM>(
  definition: ProjectionDefinition<RM>,
  build: ProjectionBuild,
  notice: { event: RecordedEvent; subject: string },
  readModel: RM,
  timeoutMs: number,
): Promise<void> {
  const forget = definition.forget?.bind(definition);
  if (!forget) return;
  await callInline(build, notice.event, timeoutMs, (signal) =>
    forget(notice.subject, readModel, {
      projection: build.name,
      version: build.version,
      attempt: 1,
      signal,
    }),
  );
}

/**
 * Applies the events of one append to a build: with `applyBatch` in one call when the
 * definition has it and there are several, otherwise with `apply` one by one. Failures are
 * as {@link applyInline}'s; a failed batch names its first event.
 */
export async function applyInlineAll<RM>(
  definition: ProjectionDefinition<RM>,
  build: ProjectionBuild,
  events: readonly RecordedEvent[],
  readModel: RM,
  timeoutMs: number,
): Promise<void> {
  const [first] = events;
  if (!first) return;
  const applyBatch = definition.applyBatch?.bind(definition);
  if (!applyBatch || events.length === 1) {
    for (const event of events) await applyInline(definition, build, event, readModel, timeoutMs);
    return;
  }
  await callInline(build, first, timeoutMs, (signal) =>
    inSpan(
      'causeway.projection.apply',
      applySpanOptions(build.name, build.version, first, events.length),
      () =>
        applyBatch(events, readModel, { projection: build.name, version: build.version, signal }),
    ),
  );
}

/** Runs `call` with a timeout; anything but a plain acknowledgement throws. */
async function callInline(
  build: ProjectionBuild,
  event: RecordedEvent,
  timeoutMs: number,
  call: (signal: AbortSignal) => void | HandlerResult | Promise<void | HandlerResult>,
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
    const applied = (async () => call(controller.signal))();
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
