import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of the bus module (message bus, outbox relay, commands over the bus).
 * Like the core's `ErrorCode`, a code never changes meaning once published.
 */
export const BusErrorCode = {
  INVALID_SUBJECT_PATTERN: 'INVALID_SUBJECT_PATTERN',
  INVALID_SUBJECT_PREFIX: 'INVALID_SUBJECT_PREFIX',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  BUS_UNAVAILABLE: 'BUS_UNAVAILABLE',
  BUS_CLOSED: 'BUS_CLOSED',
  GROUP_ALREADY_SUBSCRIBED: 'GROUP_ALREADY_SUBSCRIBED',
  COMMAND_TIMEOUT: 'COMMAND_TIMEOUT',
  NO_COMMAND_RESPONDER: 'NO_COMMAND_RESPONDER',
  INVALID_COMMAND_REPLY: 'INVALID_COMMAND_REPLY',
} as const;

/** One of the values of {@link BusErrorCode}. */
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    bus: BusErrorCode;
  }
}

/** A subscription pattern is not a valid NATS-style subject pattern. */
export class InvalidSubjectPatternError extends CausewayError {
  constructor(
    readonly pattern: unknown,
    readonly reason: string,
  ) {
    super(
      BusErrorCode.INVALID_SUBJECT_PATTERN,
      `Invalid subject pattern ${JSON.stringify(pattern) ?? typeof pattern}: ${reason}`,
    );
  }
}

/** A bus subject prefix is not one or more plain subject tokens. */
export class InvalidSubjectPrefixError extends CausewayError {
  constructor(
    readonly prefix: unknown,
    readonly reason: string,
  ) {
    super(
      BusErrorCode.INVALID_SUBJECT_PREFIX,
      `Invalid subject prefix ${JSON.stringify(prefix) ?? typeof prefix}: ${reason}`,
    );
  }
}

/**
 * An encoded message is bigger than the broker accepts (NATS `max_payload`). Nothing was
 * sent; the event stays in the store (the outbox relay parks it, see docs/bus.md).
 */
export class MessageTooLargeError extends CausewayError {
  constructor(
    readonly eventId: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      BusErrorCode.MESSAGE_TOO_LARGE,
      `Event ${eventId} encodes to ${size} bytes, over the broker's limit of ${limit} bytes`,
    );
  }
}

/** The broker could not be reached or did not acknowledge in time; retrying may succeed. */
export class BusUnavailableError extends CausewayError {
  constructor(message: string, cause?: unknown) {
    super(BusErrorCode.BUS_UNAVAILABLE, message, { cause });
  }
}

/** The bus was closed; nothing is accepted after `close()`. */
export class BusClosedError extends CausewayError {
  constructor() {
    super(BusErrorCode.BUS_CLOSED, 'The message bus is closed');
  }
}

/**
 * This process already runs a member of the group on this bus object with different
 * subjects; members of one group must agree on what the group receives.
 */
export class GroupAlreadySubscribedError extends CausewayError {
  constructor(
    readonly group: string,
    reason: string,
  ) {
    super(BusErrorCode.GROUP_ALREADY_SUBSCRIBED, `Consumer group "${group}": ${reason}`);
  }
}

/** A command sent over the bus got no reply within the timeout (it may still be applied). */
export class CommandTimeoutError extends CausewayError {
  constructor(
    readonly commandId: string,
    readonly commandType: string,
    readonly timeoutMs: number,
  ) {
    super(
      BusErrorCode.COMMAND_TIMEOUT,
      `Command ${commandType} (${commandId}) got no reply within ${timeoutMs} ms; resend it with the same id to retry safely`,
    );
  }
}

/** Nobody serves the command's type: no responder is listening on its subject. */
export class NoCommandResponderError extends CausewayError {
  constructor(
    readonly commandType: string,
    readonly subject: string,
  ) {
    super(
      BusErrorCode.NO_COMMAND_RESPONDER,
      `No command handler serves ${commandType} (nothing listens on ${subject})`,
    );
  }
}

/** A command's reply could not be read as a `CommandReply`. */
export class InvalidCommandReplyError extends CausewayError {
  constructor(
    readonly commandId: string,
    reason: string,
  ) {
    super(
      BusErrorCode.INVALID_COMMAND_REPLY,
      `The reply to command ${commandId} is not a command reply: ${reason}`,
    );
  }
}
