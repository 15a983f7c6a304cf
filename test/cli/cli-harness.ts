import { Writable } from 'node:stream';
import { type CliIo, runCli, cliExtensions, type ExitCode } from '@causewayjs/cli/internals';

/** A writable that keeps what is written, as text. */
class Sink extends Writable {
  text = '';
  constructor(private readonly onText?: (text: string) => void) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    this.onText?.(this.text);
    done();
  }
}

/** What one in-process run of the CLI printed and returned. */
export interface CliRun {
  code: ExitCode;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `causeway` command line in this process (the same `runCli` the binary runs), with
 * captured output, `env` as its environment, `cwd` as its working directory (where the config
 * file is looked up) and `signal` to interrupt it; `onStdout` sees stdout as it grows.
 */
export async function cli(
  argv: readonly string[],
  options: {
    env?: Record<string, string>;
    signal?: AbortSignal;
    interactive?: boolean;
    cwd?: string;
    onStdout?: (text: string) => void;
  } = {},
): Promise<CliRun> {
  const stdout = new Sink(options.onStdout);
  const stderr = new Sink();
  const io: CliIo = {
    stdout,
    stderr,
    interactive: options.interactive ?? false,
    env: options.env ?? {},
    signal: options.signal ?? new AbortController().signal,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  };
  const code = await runCli(argv, io, cliExtensions(io));
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** The JSON lines of a text, parsed. */
export function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

/**
 * Resolves once `condition` holds, checking it again after each short pause; fails after
 * `timeoutMs`, naming `what`. For effects of another process or loop that send no signal.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
