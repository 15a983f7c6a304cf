import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { EventStore, ReadAllOptions } from '../store/event-store.js';
import type { Command } from './command.js';
import { evolveStored, initialStateOf, type Decider, type DomainEvent } from './decider.js';

/** A point in a stream's history: after a revision, or at a time. */
export type StreamPoint =
  /** After the event with this revision (inclusive). */
  | { revision: number }
  /** After every event recorded at or before this time. */
  | { at: Date | number };

/** A point in the global log: up to a position, or at a time. */
export type LogPoint =
  /** Up to this position (inclusive). */
  | { position: number }
  /** Every event recorded at or before this time. */
  | { at: Date | number };

/** An aggregate's state at a point in its history. */
export interface StateAt<S> {
  state: S;
  /** Revision of the last event folded, `null` when none was. */
  revision: number | null;
  /** Global position of the last event folded, `null` when none was. */
  position: number | null;
  /** When the last event folded was recorded, `null` when none was. */
  recordedAt: Date | null;
  /** How many events were folded. */
  events: number;
}

/**
 * The state of an aggregate as it was after a revision, or at a time: the stream's events
 * up to that point folded with the decider's `evolve`. Reads stop at the first event past
 * the point. For debugging and audits; a schema-aware store upcasts the events first.
 *
 * Time bounds compare with `recordedAt`, which a store sets from one clock in log order;
 * a clock set back between writes could make a later event look older.
 *
 * @throws {InvalidArgumentError} for a negative or fractional revision or an invalid time.
 * @example
 * ```ts
 * const { state } = await stateAt(store, orderDecider, 'order-42', { at: new Date('2026-03-01T00:00:00Z') });
 * const before = await stateAt(store, orderDecider, 'order-42', { revision: 3 });
 * ```
 */
export async function stateAt<E extends DomainEvent, S>(
  store: EventStore,
  decider: Pick<Decider<Command, E, S>, 'evolve' | 'initialState'>,
  stream: string,
  point: StreamPoint,
): Promise<StateAt<S>> {
  const past = pastOf(point, 'revision');
  let state = initialStateOf(decider);
  let last: RecordedEvent | undefined;
  let events = 0;
  for await (const event of store.readStream(stream)) {
    if (past(event)) break;
    state = evolveStored(decider, state, event);
    last = event;
    events++;
  }
  return {
    state,
    revision: last?.revision ?? null,
    position: last?.position ?? null,
    recordedAt: last ? last.recordedAt : null,
    events,
  };
}

/**
 * The global log up to a position or a time, in position order: `readAll` (forward, with
 * its `from`, `filter` and `limit`) stopped at the first event past the point.
 *
 * @throws {InvalidArgumentError} for an invalid position or time.
 * @example
 * ```ts
 * for await (const event of readAllUntil(store, { at: Date.parse('2026-03-01T00:00:00Z') })) audit(event);
 * ```
 */
export function readAllUntil(
  store: EventStore,
  point: LogPoint,
  options: Omit<ReadAllOptions, 'direction'> = {},
): AsyncIterable<RecordedEvent> {
  const past = pastOf(point, 'position');
  const source = store.readAll({ ...options, direction: 'forward' });
  return (async function* () {
    for await (const event of source) {
      if (past(event)) return;
      yield event;
    }
  })();
}

/** A test for "this event is past the point", after checking the point. */
function pastOf(
  point: StreamPoint | LogPoint,
  key: 'revision' | 'position',
): (event: RecordedEvent) => boolean {
  if (typeof point !== 'object' || point === null) {
    throw new InvalidArgumentError('point', `must be { ${key} } or { at }`);
  }
  if ('at' in point) {
    const at = point.at instanceof Date ? point.at.getTime() : point.at;
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new InvalidArgumentError(
        'at',
        'must be a valid Date or a number of ms since the epoch',
      );
    }
    return (event) => event.recordedAt.getTime() > at;
  }
  const bound = (point as Record<string, unknown>)[key];
  if (!(typeof bound === 'number' && Number.isSafeInteger(bound) && bound >= 0)) {
    throw new InvalidArgumentError(key, 'must be an integer >= 0');
  }
  return key === 'revision' ? (event) => event.revision > bound : (event) => event.position > bound;
}
