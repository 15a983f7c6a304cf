import { isUuid } from '../core/ids.js';
import type {
  CommandDispatcher,
  CommandEnvelope,
  CommandReply,
} from '../domain/command-dispatcher.js';
import { withSpan } from '../observability/tracing.js';
import {
  CommandHandlerExistsError,
  InvalidCommandEnvelopeError,
  NoCommandHandlerError,
} from './saga-errors.js';

/**
 * Handles one command envelope: resolves with the reply (accepted or rejected); rejects only
 * when the command could not be handled now (the store is down...), so it is tried again with
 * the same id. See `deciderCommandHandler`.
 */
export type CommandEnvelopeHandler = (command: CommandEnvelope) => Promise<CommandReply>;

/**
 * A {@link CommandDispatcher} in the same process: routes each command by its type to the
 * handler registered for it. A command with no handler rejects with
 * {@link NoCommandHandlerError} (it could not be delivered; the outbox retries it, then parks
 * it).
 *
 * @example
 * ```ts
 * const dispatcher = new InProcessCommandDispatcher()
 *   .register(['inventory.reserve', 'inventory.release'], deciderCommandHandler({
 *     store, decider: inventoryDecider, stream: (c) => `inventory-${(c.data as { sku: string }).sku}`,
 *   }));
 * const reply = await dispatcher.dispatch({ id: newId(), type: 'inventory.reserve', data, metadata: {} });
 * ```
 */
export class InProcessCommandDispatcher implements CommandDispatcher {
  private readonly handlers = new Map<string, CommandEnvelopeHandler>();

  /**
   * Routes commands of `types` to `handler`.
   *
   * @throws {CommandHandlerExistsError} when a type already has a handler.
   */
  register(types: string | readonly string[], handler: CommandEnvelopeHandler): this {
    const list = typeof types === 'string' ? [types] : [...types];
    if (typeof handler !== 'function')
      throw new InvalidCommandEnvelopeError('a command handler must be a function');
    for (const type of list) {
      if (typeof type !== 'string' || type.length === 0)
        throw new InvalidCommandEnvelopeError('command types must be non-empty strings');
      if (this.handlers.has(type)) throw new CommandHandlerExistsError(type);
    }
    for (const type of list) this.handlers.set(type, handler);
    return this;
  }

  /** The command types with a handler, sorted. */
  get types(): string[] {
    return [...this.handlers.keys()].sort();
  }

  /**
   * Hands `command` to the handler of its type.
   *
   * @throws {InvalidCommandEnvelopeError} when the envelope is malformed.
   * @throws {NoCommandHandlerError} when no handler is registered for its type.
   */
  async dispatch(command: CommandEnvelope): Promise<CommandReply> {
    checkEnvelope(command);
    const handler = this.handlers.get(command.type);
    if (!handler) throw new NoCommandHandlerError(command.type);
    return withSpan(
      'causeway.command.dispatch',
      {
        parent: command.metadata,
        attributes: { 'causeway.command.type': command.type, 'causeway.command.id': command.id },
      },
      () => handler(command),
    );
  }
}

/**
 * Checks a command envelope's shape: a UUID id, a non-empty type, metadata an object.
 *
 * @throws {InvalidCommandEnvelopeError}
 */
export function checkEnvelope(command: unknown): asserts command is CommandEnvelope {
  if (typeof command !== 'object' || command === null || Array.isArray(command))
    throw new InvalidCommandEnvelopeError('expected an object { id, type, data, metadata }');
  const { id, type, metadata } = command as Partial<CommandEnvelope>;
  if (!isUuid(id)) throw new InvalidCommandEnvelopeError('id must be a UUID');
  if (typeof type !== 'string' || type.length === 0)
    throw new InvalidCommandEnvelopeError('type must be a non-empty string');
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw new InvalidCommandEnvelopeError('metadata must be an object');
}
