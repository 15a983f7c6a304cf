import type { EventMetadata } from '../core/envelope.js';
import { InvalidTranslationError } from './federation-errors.js';
import type {
  BridgedEvent,
  TranslatedEvent,
  Translation,
  TranslationContext,
  TranslationOutput,
} from './translation.js';
import { fieldMapper, type FieldSource } from './translation-steps.js';

/**
 * How one source event type becomes one target event, declared rather than coded (a bridge's
 * config file can hold it, apart from the functions).
 */
export interface EventMapping {
  /** The target type (default: the source's). */
  type?: string;
  /**
   * The target stream: a template where `{stream}`, `{type}` and `{data.<path>}` stand for
   * the source event's (`'sales-{data.orderId}'`), or a function; default: the same stream.
   */
  stream?: string | ((event: BridgedEvent, context: TranslationContext) => string);
  /** The target data, field by field (see `mapFields`); default: the data unchanged. */
  fields?: Readonly<Record<string, FieldSource>>;
  /** Only when this returns true; otherwise this mapping gives nothing. */
  when?: (event: BridgedEvent, context: TranslationContext) => boolean;
  /** Keys added to the metadata. */
  metadata?: EventMetadata;
  /**
   * The target event's schema version. Default: the source's when neither `type` nor
   * `fields` is given, 1 otherwise (a new type or shape starts at 1).
   */
  schemaVersion?: number;
}

/** What one source type maps to: a mapping, a translation, or several (one event each). */
export type ContextMapEntry = EventMapping | Translation | readonly (EventMapping | Translation)[];

/** Options of {@link contextMap}. */
export interface ContextMapOptions {
  /**
   * Source types the map does not name: `'drop'` (default) leaves them out, so nothing of
   * the source's model leaks into the target unless it is mapped; `'keep'` carries them over
   * unchanged.
   */
  otherwise?: 'drop' | 'keep';
}

/**
 * The anti-corruption layer between two bounded contexts, as one table: for each source
 * event type, what the target receives. Unmapped types are dropped unless
 * `otherwise: 'keep'`.
 *
 * @example
 * ```ts
 * const toSales = contextMap({
 *   'order.placed': {
 *     type: 'sales.order-opened',
 *     stream: 'sales-order-{data.orderId}',
 *     fields: { orderId: 'orderId', total: 'lines.total' },
 *   },
 *   'order.cancelled': [{ type: 'sales.order-closed' }, { type: 'sales.refund-due', fields: { orderId: 'orderId' } }],
 * });
 * ```
 * @throws {InvalidTranslationError} naming the first malformed entry.
 */
export function contextMap(
  map: Readonly<Record<string, ContextMapEntry>>,
  options: ContextMapOptions = {},
): Translation {
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new InvalidTranslationError('contextMap', 'must be an object keyed by source event type');
  const otherwise = options.otherwise ?? 'drop';
  if (otherwise !== 'drop' && otherwise !== 'keep')
    throw new InvalidTranslationError('contextMap.otherwise', "must be 'drop' or 'keep'");
  const steps = new Map<string, Translation[]>();
  for (const [type, entry] of Object.entries(map)) {
    const list = Array.isArray(entry)
      ? (entry as readonly (EventMapping | Translation)[])
      : [entry];
    steps.set(
      type,
      list.map((item, i) =>
        typeof item === 'function'
          ? item
          : mappingTranslation(item as EventMapping, list.length > 1 ? `${type}[${i}]` : type),
      ),
    );
  }
  return async (event, context) => {
    const found = steps.get(event.type);
    if (!found) return otherwise === 'keep' ? event : null;
    const out: TranslatedEvent[] = [];
    for (const step of found) {
      const result: TranslationOutput = await step(event, context);
      if (result === null || result === undefined) continue;
      if (isList(result)) out.push(...result);
      else out.push(result);
    }
    return out;
  };
}

function isList(output: TranslationOutput): output is readonly TranslatedEvent[] {
  return Array.isArray(output);
}

/** One {@link EventMapping} as a translation step. */
export function mappingTranslation(mapping: EventMapping, at = 'mapping'): Translation {
  if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping))
    throw new InvalidTranslationError(at, 'must be a mapping object or a translation function');
  const known = new Set(['type', 'stream', 'fields', 'when', 'metadata', 'schemaVersion']);
  for (const key of Object.keys(mapping))
    if (!known.has(key)) throw new InvalidTranslationError(`${at}.${key}`, 'is not a mapping key');
  const { type, stream, when, metadata, schemaVersion } = mapping;
  if (type !== undefined && (typeof type !== 'string' || type.length === 0))
    throw new InvalidTranslationError(`${at}.type`, 'must be a non-empty string');
  if (stream !== undefined && typeof stream !== 'function' && typeof stream !== 'string')
    throw new InvalidTranslationError(`${at}.stream`, 'must be a template string or a function');
  if (when !== undefined && typeof when !== 'function')
    throw new InvalidTranslationError(`${at}.when`, 'must be a function (event) => boolean');
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null))
    throw new InvalidTranslationError(`${at}.metadata`, 'must be an object');
  if (schemaVersion !== undefined && (!Number.isSafeInteger(schemaVersion) || schemaVersion < 1))
    throw new InvalidTranslationError(`${at}.schemaVersion`, 'must be a positive integer');
  const build =
    mapping.fields === undefined ? undefined : fieldMapper(mapping.fields, `${at}.fields`);
  const place = typeof stream === 'string' ? streamTemplate(stream, `${at}.stream`) : stream;
  const reshaped = type !== undefined || build !== undefined;
  return (event, context) => {
    if (when && !when(event, context)) return null;
    return {
      stream: place ? place(event, context) : event.stream,
      type: type ?? event.type,
      data: build ? build(event.data, event) : event.data,
      metadata: metadata ? { ...event.metadata, ...metadata } : event.metadata,
      schemaVersion: schemaVersion ?? (reshaped ? 1 : event.schemaVersion),
    };
  };
}

/** A stream template (`'sales-{data.orderId}'`) as a function of the event. */
function streamTemplate(template: string, at: string): (event: BridgedEvent) => string {
  const parts = template.split(/(\{[^{}]*\})/);
  for (const part of parts) {
    if (!part.startsWith('{')) continue;
    const name = part.slice(1, -1);
    if (name !== 'stream' && name !== 'type' && !/^data(\.[^.]+)+$/.test(name))
      throw new InvalidTranslationError(
        at,
        `unknown placeholder ${part}: use {stream}, {type} or {data.<path>}`,
      );
  }
  return (event) =>
    parts
      .map((part) => {
        if (!part.startsWith('{')) return part;
        const name = part.slice(1, -1);
        if (name === 'stream') return event.stream;
        if (name === 'type') return event.type;
        let value: unknown = event.data;
        for (const key of name.split('.').slice(1))
          value =
            typeof value === 'object' && value !== null && Object.hasOwn(value, key)
              ? (value as Record<string, unknown>)[key]
              : undefined;
        if (typeof value !== 'string' && typeof value !== 'number')
          throw new Error(`stream template ${template}: ${part} is not a string or number`);
        return String(value);
      })
      .join('');
}
