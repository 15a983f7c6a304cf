import type { Clock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import type { CommandEnvelope } from '../domain/command-dispatcher.js';
import { currentTraceContext, withSpan } from '../observability/tracing.js';
import type { StoreTransaction } from '../store/event-store.js';
import { deterministicId } from './deterministic-id.js';
import type { DomainEvent } from '../domain/decider.js';
import type { OutgoingCommand, SagaEvent } from './saga-definition.js';
import { InvalidSagaDefinitionError, InvalidSagaReactionError } from './saga-errors.js';
import type { SagaStore } from './saga-store.js';

/**
 * A choreography handler: a plain reaction to other aggregates' events that sends commands,
 * with no state of its own (the other style of coordination, beside sagas). Its commands are
 * recorded in the outbox in the transaction that moves its checkpoint, and dispatched after,
 * with ids derived from the event: a redelivered event sends nothing twice.
 *
 * Typed like a saga: with the event union `E`, `handles` may only name its types and `react`
 * receives a {@link SagaEvent} whose `data` narrows on `event.type`.
 *
 * @typeParam E the events it handles, a union of `{ type, data }` shapes
 * @example
 * ```ts
 * type StockShortage = DomainEvent<'stock.shortage', { sku: string }>;
 * const restockOnShortage = defineChoreography<StockShortage>({
 *   name: 'restock-on-shortage',
 *   handles: ['stock.shortage'],
 *   react: (event) => [{ type: 'inventory.restock', data: { sku: event.data.sku, quantity: 10 } }],
 * });
 * ```
 */
export interface ChoreographyDefinition<E extends DomainEvent = DomainEvent> {
  /** Unique name; also names its subscription (`choreography:<name>`). */
  name: string;
  /** Event types it reacts to. */
  handles: readonly E['type'][];
  /** The commands to send for `event` (none: an empty array or undefined). */
  react(event: SagaEvent<E>, context: { now: number }): readonly OutgoingCommand[] | undefined;
}

/**
 * Checks a choreography definition and returns it.
 *
 * @throws {InvalidSagaDefinitionError}
 */
export function defineChoreography<E extends DomainEvent = DomainEvent>(
  definition: ChoreographyDefinition<E>,
): ChoreographyDefinition<E> {
  const name = (definition as { name?: unknown } | null)?.name;
  const label = typeof name === 'string' ? name : '(unnamed)';
  if (typeof definition !== 'object' || definition === null)
    throw new InvalidSagaDefinitionError(label, 'must be an object');
  if (typeof name !== 'string' || name.length === 0 || name.length > 100)
    throw new InvalidSagaDefinitionError(
      label,
      'name must be a non-empty string of at most 100 characters',
    );
  if (
    !Array.isArray(definition.handles) ||
    definition.handles.length === 0 ||
    definition.handles.some((t) => typeof t !== 'string' || t.length === 0)
  )
    throw new InvalidSagaDefinitionError(label, 'handles must be a non-empty array of event types');
  if (typeof definition.react !== 'function')
    throw new InvalidSagaDefinitionError(label, 'react must be a function');
  return definition;
}

/**
 * Runs a choreography handler on one event inside `tx`: records its commands in the outbox.
 * Returns the number of commands recorded.
 */
export async function runChoreography<Tx extends StoreTransaction>(
  definition: ChoreographyDefinition,
  store: SagaStore<Tx>,
  event: RecordedEvent,
  tx: Tx,
  clock: Clock,
): Promise<number> {
  if (!definition.handles.includes(event.type)) return 0;
  return withSpan(
    'causeway.choreography.react',
    {
      parent: event.metadata,
      attributes: {
        'causeway.choreography': definition.name,
        'causeway.event.type': event.type,
        'causeway.event.id': event.id,
      },
    },
    async () => {
      const now = clock.now();
      const commands = definition.react(event, { now }) ?? [];
      if (!Array.isArray(commands))
        throw new InvalidSagaReactionError(
          definition.name,
          event.id,
          'react must return an array of commands',
        );
      if (commands.length === 0) return 0;
      const trace = currentTraceContext();
      const correlationId = event.metadata.correlationId;
      const entries = (commands as readonly OutgoingCommand[]).map((command, i) => {
        if (
          typeof command !== 'object' ||
          command === null ||
          typeof command.type !== 'string' ||
          command.type.length === 0
        )
          throw new InvalidSagaReactionError(
            definition.name,
            event.id,
            'a command needs a non-empty string type',
          );
        const envelope: CommandEnvelope = {
          id: deterministicId('choreography', definition.name, event.id, String(i)),
          type: command.type,
          data: command.data === undefined ? null : command.data,
          metadata: {
            ...command.metadata,
            correlationId: typeof correlationId === 'string' ? correlationId : event.id,
            causationId: event.id,
            choreography: definition.name,
            ...trace,
          },
        };
        return {
          command: envelope,
          source: definition.name,
          instanceId: null,
          compensation: false,
          createdAt: now,
        };
      });
      await store.enqueue(entries, tx);
      return entries.length;
    },
  );
}
