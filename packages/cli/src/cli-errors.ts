import { CausewayError } from '@causewayjs/core';

/** Stable codes of the errors the `causeway` command raises itself. */
export const CliErrorCode = {
  /** An option or argument the command cannot use. */
  USAGE: 'CLI_USAGE',
  /** A thing named on the command line does not exist. */
  NOT_FOUND: 'CLI_NOT_FOUND',
  /** The target is not in the state the command needs. */
  CONFLICT: 'CLI_CONFLICT',
  /** Input (a JSON argument, a JSONL line) could not be used. */
  INVALID_INPUT: 'CLI_INVALID_INPUT',
  /** `--config` (or `CAUSEWAY_CONFIG`) names a file that does not exist. */
  CONFIG_NOT_FOUND: 'CLI_CONFIG_NOT_FOUND',
  /** The config file could not be loaded, or what it exports is not a valid config. */
  CONFIG_INVALID: 'CLI_CONFIG_INVALID',
  /** The address `serve` (or `demo`) should listen on is taken. */
  PORT_IN_USE: 'CLI_PORT_IN_USE',
} as const;

/** One of the values of {@link CliErrorCode}. */
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '@causewayjs/core' {
  interface CausewayErrorCodes {
    cli: CliErrorCode;
  }
}

/** A command-line option or argument that cannot be used. */
export class CliUsageError extends CausewayError {
  constructor(message: string) {
    super(CliErrorCode.USAGE, message);
  }
}

/** Something named on the command line does not exist. */
export class CliNotFoundError extends CausewayError {
  constructor(
    readonly what: string,
    readonly target: string,
    message?: string,
  ) {
    super(CliErrorCode.NOT_FOUND, message ?? `No ${what} named "${target}"`);
  }
}

/** The target is not in the state the command needs (e.g. importing into a busy stream). */
export class CliConflictError extends CausewayError {
  constructor(message: string, cause?: unknown) {
    super(CliErrorCode.CONFLICT, message, { cause });
  }
}

/**
 * Input that could not be used: a JSON argument, or a line of a JSONL file (then `line` is
 * its 1-based number).
 */
export class CliInputError extends CausewayError {
  constructor(
    message: string,
    readonly line?: number,
    cause?: unknown,
  ) {
    super(CliErrorCode.INVALID_INPUT, line === undefined ? message : `line ${line}: ${message}`, {
      cause,
    });
  }
}

/** `--config` (or `CAUSEWAY_CONFIG`) names a file that does not exist. */
export class CliConfigNotFoundError extends CausewayError {
  constructor(readonly path: string) {
    super(CliErrorCode.CONFIG_NOT_FOUND, `no config file at "${path}"`);
  }
}

/**
 * The config file could not be loaded (it throws, or does not compile), or what it exports is
 * not a config: `problems` lists each one with its path in the config (`projections[0].name`).
 */
export class CliConfigInvalidError extends CausewayError {
  constructor(
    readonly path: string,
    readonly problems: readonly string[],
    cause?: unknown,
  ) {
    super(CliErrorCode.CONFIG_INVALID, `invalid config "${path}": ${problems.join('; ')}`, {
      cause,
    });
  }
}

/** The address to listen on is taken by another process. */
export class CliPortInUseError extends CausewayError {
  constructor(
    readonly host: string,
    readonly port: number,
    cause?: unknown,
  ) {
    super(
      CliErrorCode.PORT_IN_USE,
      `${host}:${port} is already in use: stop what listens there, or choose another port with --port (0 picks a free one)`,
      { cause },
    );
  }
}

/** Whether `error` says the address to listen on is taken (`EADDRINUSE`). */
function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

/**
 * Runs `listen` (whatever starts a server on `host`:`port`), turning a taken address into
 * {@link CliPortInUseError}: `serve`, `demo` and `sensors` all report it the same way.
 */
export async function listenOrExplain<T>(
  address: { host?: string | undefined; port?: number | undefined },
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if (isAddressInUse(error))
      throw new CliPortInUseError(address.host ?? '127.0.0.1', address.port ?? 3000, error);
    throw error;
  }
}
