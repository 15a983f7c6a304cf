/** Where a command writes, and what it knows of its terminal. */
export interface CliIo {
  /** Results: human text, or one JSON document (or JSON lines) with `--json`. */
  stdout: NodeJS.WritableStream;
  /** Progress, warnings and errors. */
  stderr: NodeJS.WritableStream;
  /** Whether stderr is a terminal: progress bars are drawn (on stderr) only then. */
  interactive: boolean;
  /** Environment variables (`CAUSEWAY_STORE`...). */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT/SIGTERM: long and live commands stop cleanly. */
  signal: AbortSignal;
  /** Where the config file is looked up (default: the process's working directory). */
  cwd?: string;
}

/** The process's own streams, signals and environment. */
export function processIo(signal: AbortSignal): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stderr.isTTY === true,
    env: process.env,
    signal,
  };
}

/** Writes one line to stdout. */
export function printLine(io: CliIo, line: string): void {
  io.stdout.write(`${line}\n`);
}

/** Writes a value as one JSON document (pretty) on stdout. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes a value as one JSON line on stdout (for streams of results, such as `tail`). */
export function printJsonLine(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Writes rows as an aligned text table on stdout. */
export function printTable(io: CliIo, headers: readonly string[], rows: readonly string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  printLine(io, line(headers));
  for (const row of rows) printLine(io, line(row));
}
