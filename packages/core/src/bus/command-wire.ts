import { SpanKind } from '@opentelemetry/api';
import { CausewayError } from '../core/errors.js';
import type { CommandEnvelope, CommandReply } from '../domain/command-dispatcher.js';
import { withSpan } from '../observability/tracing.js';
import { InvalidCommandReplyError } from './bus-errors.js';
import { subjectToken } from './subject.js';

/** The subject prefix commands travel under unless told otherwise. */
export const DEFAULT_COMMAND_PREFIX = 'causeway.commands';

/** The subject a command type is sent on: `<prefix>.<type tokens>`. */
export function commandSubject(prefix: string, type: string): string {
  return `${prefix}.${type.split('.').map(subjectToken).join('.')}`;
}

/** Handles a command received over a broker and says how it went. */
export type CommandServeHandler = (
  command: CommandEnvelope,
) => Promise<CommandReply> | CommandReply;

/** Codes of rejections the responder itself makes. */
export const CommandResponderCode = {
  /** The request was not a command envelope. */
  INVALID_COMMAND: 'INVALID_COMMAND',
  /** The handler threw something that is not a Causeway error. */
  COMMAND_FAILED: 'COMMAND_FAILED',
} as const;

/**
 * Reads a command's reply as brokers carry it (JSON text).
 *
 * @throws {InvalidCommandReplyError} when it is not a `CommandReply`.
 */
export function parseCommandReply(id: string, text: string): CommandReply {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidCommandReplyError(id, 'it is not JSON');
  }
  if (typeof value === 'object' && value !== null) {
    const r = value as Record<string, unknown>;
    if (r.status === 'accepted') {
      if (
        (r.stream === undefined || typeof r.stream === 'string') &&
        (r.revision === undefined || typeof r.revision === 'number')
      )
        return {
          status: 'accepted',
          ...(r.stream === undefined ? {} : { stream: r.stream }),
          ...(r.revision === undefined ? {} : { revision: r.revision }),
        };
    } else if (
      r.status === 'rejected' &&
      typeof r.code === 'string' &&
      typeof r.message === 'string'
    )
      return { status: 'rejected', code: r.code, message: r.message };
  }
  throw new InvalidCommandReplyError(
    id,
    'expected { status: "accepted" } or { status: "rejected", code, message }',
  );
}

/**
 * Answers one command request (JSON text) with the handler's reply, inside a
 * `causeway.bus.command.handle` span: a request that is not an envelope is rejected with
 * `INVALID_COMMAND`, a thrown Causeway error becomes a rejection with its code, any other
 * throw `COMMAND_FAILED`. Never throws.
 */
export async function answerCommand(p: {
  text: string;
  destination: string;
  handle: CommandServeHandler;
}): Promise<CommandReply> {
  let command: CommandEnvelope;
  try {
    const value = JSON.parse(p.text) as Partial<CommandEnvelope> | null;
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof value.id !== 'string' ||
      typeof value.type !== 'string' ||
      typeof value.metadata !== 'object' ||
      value.metadata === null
    )
      throw new Error('not an envelope');
    command = { id: value.id, type: value.type, data: value.data, metadata: value.metadata };
  } catch {
    return {
      status: 'rejected',
      code: CommandResponderCode.INVALID_COMMAND,
      message: 'the request is not a command envelope { id, type, data, metadata }',
    };
  }
  return withSpan(
    'causeway.bus.command.handle',
    {
      kind: SpanKind.SERVER,
      parent: command.metadata,
      attributes: {
        'messaging.destination.name': p.destination,
        'causeway.command.id': command.id,
      },
    },
    async (): Promise<CommandReply> => {
      try {
        return await p.handle(command);
      } catch (error) {
        if (error instanceof CausewayError)
          return { status: 'rejected', code: error.code, message: error.message };
        return {
          status: 'rejected',
          code: CommandResponderCode.COMMAND_FAILED,
          message: error instanceof Error ? error.message : String(error),
        };
      }
    },
  );
}
