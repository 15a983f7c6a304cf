import type { EventMetadata } from '../core/envelope.js';
import { InvalidTranslationError } from './federation-errors.js';
import type { BridgedEvent, Translation, TranslationContext } from './translation.js';

/**
 * Renames event types: `{ 'order.placed': 'sales.order-opened' }`. Types not named pass
 * unchanged; data, metadata, stream and schema version are kept.
 *
 * @throws {InvalidTranslationError} when a name is not a non-empty string.
 */
export function renameTypes(names: Readonly<Record<string, string>>): Translation {
  assertRecord(names, 'renameTypes');
  for (const [from, to] of Object.entries(names))
    if (typeof to !== 'string' || to.length === 0)
      throw new InvalidTranslationError(`renameTypes.${from}`, 'must be a non-empty string');
  return (event) => {
    const to = Object.hasOwn(names, event.type) ? names[event.type] : undefined;
    return to === undefined ? event : { ...event, type: to };
  };
}

/** Keeps the events for which `keep` returns true; the others are not carried over. */
export function filterEvents(
  keep: (event: BridgedEvent, context: TranslationContext) => boolean,
): Translation {
  if (typeof keep !== 'function')
    throw new InvalidTranslationError('filterEvents', 'must be given a function');
  return (event, context) => (keep(event, context) ? event : null);
}

/**
 * How one field of the new data is made: a dotted path into the old data (`'customer.id'`),
 * or a function of the old data and the event.
 */
export type FieldSource = string | ((data: unknown, event: BridgedEvent) => unknown);

/**
 * Rebuilds the data of events (of `types` only, when given) from a field map: each key of
 * `fields` is a field of the new data, each value where it comes from (see
 * {@link FieldSource}). A path that leads nowhere gives no field (JSON has no `undefined`).
 *
 * @example
 * ```ts
 * mapFields({ orderId: 'id', total: 'amount.total', currency: () => 'EUR' }, { types: ['order.placed'] })
 * ```
 * @throws {InvalidTranslationError} when a source is neither a path nor a function.
 */
export function mapFields(
  fields: Readonly<Record<string, FieldSource>>,
  options: { types?: readonly string[] } = {},
): Translation {
  const build = fieldMapper(fields, 'mapFields');
  const types = options.types === undefined ? undefined : new Set(options.types);
  return (event) =>
    types && !types.has(event.type) ? event : { ...event, data: build(event.data, event) };
}

/** Checks a field map and returns the function that applies it. */
export function fieldMapper(
  fields: Readonly<Record<string, FieldSource>>,
  at: string,
): (data: unknown, event: BridgedEvent) => Record<string, unknown> {
  assertRecord(fields, at);
  const entries = Object.entries(fields);
  for (const [key, source] of entries) {
    if (typeof source === 'function') continue;
    if (typeof source !== 'string' || source.length === 0 || source.split('.').includes(''))
      throw new InvalidTranslationError(
        `${at}.${key}`,
        'must be a dotted path into the data (a.b.c) or a function (data, event) => value',
      );
  }
  return (data, event) => {
    const out: Record<string, unknown> = {};
    for (const [key, source] of entries) {
      const value = typeof source === 'function' ? source(data, event) : pathValue(data, source);
      if (value !== undefined) out[key] = value;
    }
    return out;
  };
}

/** The value at a dotted path of a JSON value, or `undefined`. */
function pathValue(data: unknown, path: string): unknown {
  let value: unknown = data;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** What {@link enrichEvents} adds to an event. */
export interface Enrichment {
  /** Fields merged into the data (an object's; other data is left as it is). */
  data?: Record<string, unknown>;
  /** Keys merged into the metadata. */
  metadata?: EventMetadata;
}

/**
 * Adds fields to the data and keys to the metadata of every event, from the event and its
 * source (say, the source system's name, or the source position for tracing back). Must be
 * deterministic, as every translation.
 *
 * @example
 * ```ts
 * enrichEvents((_, { source }) => ({ metadata: { origin: 'shop', originPosition: source.position } }))
 * ```
 */
export function enrichEvents(
  enrich: (
    event: BridgedEvent,
    context: TranslationContext,
  ) => Enrichment | undefined | Promise<Enrichment | undefined>,
): Translation {
  if (typeof enrich !== 'function')
    throw new InvalidTranslationError('enrichEvents', 'must be given a function');
  return async (event, context) => {
    const extra = await enrich(event, context);
    if (!extra) return event;
    const isObject =
      typeof event.data === 'object' && event.data !== null && !Array.isArray(event.data);
    return {
      ...event,
      data: extra.data && isObject ? { ...(event.data as object), ...extra.data } : event.data,
      metadata: extra.metadata ? { ...event.metadata, ...extra.metadata } : event.metadata,
    };
  };
}

/**
 * Chooses the target stream of each event: `routeStreams((e) => 'sales-' + e.stream)`.
 * Events of one source stream usually go to one target stream, so their order is kept.
 */
export function routeStreams(
  route: (event: BridgedEvent, context: TranslationContext) => string,
): Translation {
  if (typeof route !== 'function')
    throw new InvalidTranslationError('routeStreams', 'must be given a function');
  return (event, context) => ({ ...event, stream: route(event, context) });
}

function assertRecord(value: unknown, at: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidTranslationError(at, 'must be an object');
}
