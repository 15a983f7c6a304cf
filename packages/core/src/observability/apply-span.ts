import type { RecordedEvent } from '../core/envelope.js';
import type { SpanOptions } from './tracing.js';

/**
 * Options of a `causeway.projection.apply` span: a child of the trace the event carries in
 * its metadata (`traceparent`), so applying it joins the trace of the request that wrote it.
 * `count` is the size of a batch applied at once (its first event gives the parent).
 */
export function applySpanOptions(
  projection: string,
  version: number,
  event: RecordedEvent,
  count = 1,
): SpanOptions {
  return {
    attributes: {
      'causeway.projection': projection,
      'causeway.projection.version': version,
      'causeway.event.type': event.type,
      'causeway.event.position': event.position,
      'causeway.events': count,
    },
    parent: event.metadata,
  };
}
