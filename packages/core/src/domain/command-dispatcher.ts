/**
 * A command on its way to a handler, possibly in another process (over the bus). Its `id`
 * makes dispatch idempotent: a handler that sees the same id twice applies it once.
 */
export interface CommandEnvelope<Type extends string = string, Data = unknown> {
  /** UUIDv7, chosen by the sender; the idempotency key of the command. */
  id: string;
  /** Dotted imperative name, e.g. `inventory.reserve`. */
  type: Type;
  data: Data;
  /** `correlationId`, `causationId`, `traceparent`, `tenant`, `actor` and user keys. */
  metadata: Readonly<Record<string, unknown>>;
}

/** What a command handler answered: accepted (with what it appended) or rejected. */
export type CommandReply =
  | { status: 'accepted'; stream?: string | undefined; revision?: number | undefined }
  | { status: 'rejected'; code: string; message: string };

/**
 * Sends commands to whoever handles their type: in process, or over the bus (request/reply).
 * `dispatch` resolves with the handler's reply; it rejects only when the command could not be
 * delivered or answered (no handler, timeout, transport down), so the caller can retry with
 * the same id.
 */
export interface CommandDispatcher {
  dispatch(command: CommandEnvelope): Promise<CommandReply>;
}
