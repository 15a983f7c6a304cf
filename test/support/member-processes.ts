/**
 * Member processes for multi-process tests and benchmarks: a TypeScript script run in a child
 * Node process through tsx, its stdout read line by line, its stderr kept (when piped), and
 * its exit awaited; plus the polling wait those tests and benchmarks synchronise with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How a child process ended. */
export interface MemberExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process started by {@link spawnMemberProcess}. */
export interface MemberProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<MemberExit>;
  /** What the process wrote to stderr so far (empty unless `stderr` is `'pipe'`). */
  readonly stderr: string;
}

/** Options of {@link spawnMemberProcess}. */
export interface MemberProcessOptions {
  /** The script to run (an absolute path). */
  script: string;
  args?: readonly string[];
  /** Called with each whole line the process prints on stdout. */
  onLine: (line: string) => void;
  /** `'pipe'` to write commands to the process (`child.stdin`); default `'ignore'`. */
  stdin?: 'pipe' | 'ignore';
  /** `'pipe'` keeps stderr in `stderr`; `'inherit'` passes it through. Default `'pipe'`. */
  stderr?: 'pipe' | 'inherit';
}

/** Calls `onLine` with each whole line read from `stream`. */
export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let buffer = '';
  stream.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      onLine(line);
    }
  });
}

/** Starts `script` in a child Node process through tsx. */
export function spawnMemberProcess(options: MemberProcessOptions): MemberProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', options.script, ...(options.args ?? [])],
    {
      stdio: [options.stdin ?? 'ignore', 'pipe', options.stderr ?? 'pipe'],
    },
  );
  const member = {
    child,
    stderr: '',
    exited: new Promise<MemberExit>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    ),
  };
  child.stderr?.on('data', (d: Buffer) => (member.stderr += d.toString()));
  if (child.stdout) onLines(child.stdout, options.onLine);
  return member;
}

/** A line `<what> <rest>` split at its first space (`rest` is the whole line if none). */
export function splitLine(line: string): { what: string; rest: string } {
  const space = line.indexOf(' ');
  return { what: space < 0 ? line : line.slice(0, space), rest: line.slice(space + 1) };
}

/** Options of {@link until}. */
export interface UntilOptions {
  /** What is waited for, named in the error. */
  what: string;
  timeoutMs: number;
  /** How often `check` is polled (default 10 ms). */
  everyMs?: number;
  /** More to say in the error (what the members have printed, say). */
  detail?: () => string;
}

/** Resolves once `check` holds, polling; fails after `timeoutMs` naming what it waited for. */
export async function until(
  check: () => boolean | Promise<boolean>,
  options: UntilOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const detail = options.detail?.();
      throw new Error(`timed out waiting for ${options.what}${detail ? `\n${detail}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 10));
  }
}

/**
 * A member process whose subclass reads what it prints line by line (`onLine`), with its
 * `child`, `exited` and `stderr` at hand. Lines arrive only after construction, once the
 * subclass's fields are set.
 */
export abstract class LineMember {
  readonly child: ChildProcess;
  readonly exited: Promise<MemberExit>;
  readonly #process: MemberProcess;

  constructor(script: string, args: readonly string[]) {
    this.#process = spawnMemberProcess({ script, args, onLine: (line) => this.onLine(line) });
    this.child = this.#process.child;
    this.exited = this.#process.exited;
  }

  /** What the process wrote to stderr so far. */
  get stderr(): string {
    return this.#process.stderr;
  }

  /** Called with each line the process prints on stdout. */
  protected abstract onLine(line: string): void;
}
