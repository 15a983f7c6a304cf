import { WELL_KNOWN_METADATA_KEYS, type EventMetadata } from '../core/envelope.js';
import { isUuid, newId } from '../core/ids.js';
import { InvalidCommandError } from './domain-errors.js';

/**
 * Metadata a command carries. The well-known keys (`correlationId`, `causationId`, `actor`,
 * `tenant`, `traceparent`) and any user keys flow onto every event the command produces.
 */
export type CommandMetadata = EventMetadata;

/**
 * A request to change one aggregate: `{ type, data }` plus an optional id and metadata. The
 * type is an imperative name (`order.place`), by convention in the same dotted style as
 * event types.
 *
 * @example
 * ```ts
 * type PlaceOrder = Command<'order.place', { customerId: string }>;
 * const command: PlaceOrder = {
 *   type: 'order.place',
 *   data: { customerId: 'c-7' },
 *   metadata: { actor: 'alice', correlationId: 'req-91' },
 * };
 * ```
 */
export interface Command<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** A UUID; generated (UUIDv7) when omitted. It becomes the events' `causationId`. */
  id?: string;
  metadata?: CommandMetadata;
}

/** A command after {@link normaliseCommand}: it has an id and metadata. */
export type NormalisedCommand<C extends Command> = C & { id: string; metadata: CommandMetadata };

/**
 * Checks a command's shape and fills in its id (a new UUIDv7) and metadata (`{}`) when
 * missing. The input is not changed.
 *
 * @throws {InvalidCommandError} when the command is not an object with a non-empty string
 *   `type`, its id is not a UUID, or its metadata is not an object with string values for
 *   the well-known keys.
 */
export function normaliseCommand<C extends Command>(command: C): NormalisedCommand<C> {
  if (typeof command !== 'object' || command === null || Array.isArray(command)) {
    throw new InvalidCommandError(
      `expected an object { type, data }, got ${command === null ? 'null' : Array.isArray(command) ? 'an array' : typeof command}`,
    );
  }
  const { type, id, metadata } = command as { type: unknown; id?: unknown; metadata?: unknown };
  if (typeof type !== 'string' || type.length === 0) {
    throw new InvalidCommandError('type must be a non-empty string');
  }
  if (id !== undefined && !isUuid(id)) {
    throw new InvalidCommandError(`id ${JSON.stringify(id) ?? typeof id} is not a UUID`);
  }
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  ) {
    throw new InvalidCommandError('metadata must be an object');
  }
  const meta = (metadata ?? {}) as CommandMetadata;
  for (const key of WELL_KNOWN_METADATA_KEYS) {
    if (meta[key] !== undefined && typeof meta[key] !== 'string') {
      throw new InvalidCommandError(`metadata.${key} must be a string`);
    }
  }
  return { ...command, id: id === undefined ? newId() : id.toLowerCase(), metadata: meta };
}

/**
 * The metadata of an event produced by `command`: the command's metadata, then the event's
 * own, with `causationId` set to the command's id and `correlationId` defaulting to the
 * command's correlation id or, failing that, its id. The command's own `causationId` (the
 * event that led a saga or a reactor to send it) is kept as `commandCausationId`, so a
 * causation chain can be followed from event to event through the command, which is not
 * stored in the log.
 */
export function eventMetadataFor(
  command: { id: string; metadata: CommandMetadata },
  own: EventMetadata | undefined,
): EventMetadata {
  const commandCause = command.metadata.causationId;
  return {
    ...command.metadata,
    ...(commandCause === undefined ? {} : { commandCausationId: commandCause }),
    ...own,
    correlationId: own?.correlationId ?? command.metadata.correlationId ?? command.id,
    causationId: own?.causationId ?? command.id,
  };
}
