import type { EventMetadata, RecordedEvent } from '../core/envelope.js';
import { TranslationFailedError } from './federation-errors.js';

/**
 * An event on its way from one system to another: what a {@link Translation} reads and
 * writes. A bridge first turns the source event into one (same stream, type, data, metadata
 * and schema version), then hands it through the translation; what comes out is appended
 * to the target (or published to the bus) as it is.
 */
export interface BridgedEvent<Data = unknown> {
  /** The stream it goes to in the target. */
  stream: string;
  type: string;
  data: Data;
  metadata: EventMetadata;
  schemaVersion: number;
}

/**
 * What a translation step returns for one event: an event, a list of events, or nothing
 * (`null`, `undefined` or `[]`: the event is not carried over). `metadata` left out keeps the
 * input's; `schemaVersion` left out is 1; `stream` left out keeps the input's.
 */
export type TranslationOutput = TranslatedEvent | readonly TranslatedEvent[] | null | undefined;

/** One event a translation step returns (see {@link TranslationOutput}). */
export interface TranslatedEvent<Data = unknown> {
  stream?: string;
  type: string;
  data: Data;
  metadata?: EventMetadata;
  schemaVersion?: number;
}

/** What a translation step is told besides the event: the original source event. */
export interface TranslationContext {
  /** The event as the source store holds it (its id, position and revision included). */
  readonly source: RecordedEvent;
}

/**
 * Maps an event of one system (a bounded context) to zero or more events of another: the
 * anti-corruption layer of a bridge. It must be deterministic, since a bridge replays it
 * after a crash and relies on the same input giving the same output; a throw parks the
 * source event (see docs/federation.md).
 *
 * Steps compose with {@link composeTranslations}; ready-made steps are `renameTypes`,
 * `mapFields`, `filterEvents`, `enrichEvents`, `routeStreams` and `contextMap`.
 *
 * @example
 * ```ts
 * const toSales: Translation = (event) =>
 *   event.type === 'order.placed'
 *     ? { type: 'sales.order-opened', data: { orderId: event.stream, total: event.data.total } }
 *     : null;
 * ```
 */
export type Translation = (
  event: BridgedEvent,
  context: TranslationContext,
) => TranslationOutput | Promise<TranslationOutput>;

/** The translation that carries every event over unchanged. */
export const identityTranslation: Translation = (event) => event;

/**
 * Runs translations one after another: each step gets every event the step before it
 * returned, and the outputs are concatenated in order. With no steps, the identity.
 *
 * @example
 * ```ts
 * const translation = composeTranslations(
 *   filterEvents((e) => e.type.startsWith('order.')),
 *   renameTypes({ 'order.placed': 'sales.order-opened' }),
 * );
 * ```
 */
export function composeTranslations(...steps: readonly Translation[]): Translation {
  if (steps.length === 0) return identityTranslation;
  return async (event, context) => {
    let events: BridgedEvent[] = [event];
    for (const step of steps) {
      const next: BridgedEvent[] = [];
      for (const e of events) next.push(...normalize(await step(e, context), e, context.source));
      events = next;
    }
    return events;
  };
}

/** The source event as a bridge first sees it, before any translation. */
export function bridgedEvent(source: RecordedEvent): BridgedEvent {
  return {
    stream: source.stream,
    type: source.type,
    data: source.data,
    metadata: { ...source.metadata },
    schemaVersion: source.schemaVersion,
  };
}

/**
 * Runs `translation` on a source event and checks what it returns.
 *
 * @throws {TranslationFailedError} when the translation throws or returns something that is
 *   not events (no `type`, a stream that is not a non-empty string...).
 */
export async function runTranslation(
  translation: Translation,
  source: RecordedEvent,
): Promise<BridgedEvent[]> {
  const input = bridgedEvent(source);
  let output: TranslationOutput;
  try {
    output = await translation(input, { source });
  } catch (error) {
    if (error instanceof TranslationFailedError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new TranslationFailedError(source.id, source.position, reason, { cause: error });
  }
  return normalize(output, input, source);
}

/** Fills in the defaults of a step's output and checks its shape. */
function normalize(
  output: TranslationOutput,
  input: BridgedEvent,
  source: RecordedEvent,
): BridgedEvent[] {
  if (output === null || output === undefined) return [];
  const list: readonly unknown[] = Array.isArray(output) ? output : [output];
  return list.map((item, i) => {
    const fail = (reason: string) =>
      new TranslationFailedError(source.id, source.position, `output ${i} ${reason}`);
    if (typeof item !== 'object' || item === null) throw fail('is not an event object');
    const e = item as Partial<TranslatedEvent>;
    if (typeof e.type !== 'string' || e.type.length === 0)
      throw fail('has no type (a non-empty string)');
    const stream = e.stream ?? input.stream;
    if (typeof stream !== 'string' || stream.length === 0)
      throw fail('has a stream that is not a non-empty string');
    if (!('data' in e)) throw fail('has no data');
    const metadata = e.metadata ?? input.metadata;
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
      throw fail('has metadata that is not an object');
    const schemaVersion = e.schemaVersion ?? 1;
    if (!Number.isSafeInteger(schemaVersion) || schemaVersion < 1)
      throw fail('has a schemaVersion that is not a positive integer');
    return { stream, type: e.type, data: e.data, metadata, schemaVersion };
  });
}
