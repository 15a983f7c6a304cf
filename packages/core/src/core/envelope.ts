/**
 * Metadata that travels with an event. The well-known keys are typed; any other JSON value
 * may be added under a user key.
 */
export interface EventMetadata {
  /** Id shared by everything caused by one original request. */
  correlationId?: string;
  /** Id of the message (command or event) that directly caused this one. */
  causationId?: string;
  /**
   * On an event produced by a command: the command's own `causationId` (usually the event
   * that led a saga or reactor to send it), set by the command handler.
   */
  commandCausationId?: string;
  /** Who caused it (a user id, a service name). */
  actor?: string;
  /** The tenant the event belongs to, in multi-tenant systems. */
  tenant?: string;
  /** W3C trace context of the operation that wrote the event. */
  traceparent?: string;
  [key: string]: unknown;
}

/** The well-known metadata keys whose values must be strings. */
export const WELL_KNOWN_METADATA_KEYS = [
  'correlationId',
  'causationId',
  'actor',
  'tenant',
  'traceparent',
] as const;

/**
 * Metadata keys that only store layers write: `encryption` (the encrypting store's record of
 * which fields it sealed, under which subject) and `integrity` (the hash chain's link). A
 * caller's own value would make readers try to decrypt plaintext or check a forged chain, so
 * the layers drop whatever a caller put there and write their own, and the HTTP server
 * refuses an event carrying either (400 `RESERVED_METADATA`). `tenant` and `actor` are
 * reserved at the edges too, with their own rules (see the security guide).
 */
export const RESERVED_METADATA_KEYS = ['encryption', 'integrity'] as const;

/** One of {@link RESERVED_METADATA_KEYS}. */
export type ReservedMetadataKey = (typeof RESERVED_METADATA_KEYS)[number];

/**
 * An event as the caller hands it to `append`.
 *
 * @example
 * ```ts
 * const placed: EventInput<{ orderId: string }> = { type: 'order.placed', data: { orderId: '42' } };
 * ```
 */
export interface EventInput<Data = unknown, Type extends string = string> {
  /** Dotted past-tense name, e.g. `order.placed`. */
  type: Type;
  /** Any JSON value (see `encodeJson` for what is refused). */
  data: Data;
  /** A UUID; generated (UUIDv7) when omitted. Supplying it makes retries idempotent. */
  id?: string;
  metadata?: EventMetadata;
  /** Version of the data's schema; defaults to 1. */
  schemaVersion?: number;
}

/**
 * An event as stored and read back.
 */
export interface RecordedEvent<Data = unknown, Type extends string = string> {
  id: string;
  type: Type;
  stream: string;
  /** 0-based place in its stream. */
  revision: number;
  /** 1-based place in the store's global log. */
  position: number;
  data: Data;
  metadata: EventMetadata;
  schemaVersion: number;
  /** When the store recorded it (the store's clock). */
  recordedAt: Date;
}
