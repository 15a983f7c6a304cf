import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { type CliIo, cliExtensions, runCli } from '@causewayjs/cli/internals';

/** What `causeway serve` wrote while it ran. */
export interface ServeOutput {
  stdout: string;
  stderr: string;
}

/**
 * Runs `causeway serve --port 0 --json <args>` in this process, calls `work` with the URL it
 * prints (ending in `/`) once it listens, then stops it and checks it exits with 0. Resolves
 * what it wrote on stdout and stderr.
 */
export async function serving(
  args: readonly string[],
  work: (base: string) => Promise<void>,
): Promise<ServeOutput> {
  const stop = new AbortController();
  const output: ServeOutput = { stdout: '', stderr: '' };
  let listening: (url: string) => void = () => undefined;
  const address = new Promise<string>((resolve) => (listening = resolve));
  const io: CliIo = {
    stdout: new Writable({
      write(chunk: Buffer, _encoding, done) {
        output.stdout += chunk.toString();
        const line = output.stdout.split('\n').find((l) => l.includes('"listening"'));
        if (line) listening((JSON.parse(line) as { url: string }).url);
        done();
      },
    }),
    stderr: new Writable({
      write(chunk: Buffer, _encoding, done) {
        output.stderr += chunk.toString();
        done();
      },
    }),
    interactive: false,
    env: {},
    signal: stop.signal,
  };
  const running = runCli(['serve', '--port', '0', '--json', ...args], io, cliExtensions(io));
  try {
    await work(
      await Promise.race([
        address,
        running.then((code) =>
          Promise.reject(new Error(`serve exited with ${code}: ${output.stderr}`)),
        ),
      ]),
    );
  } finally {
    stop.abort();
  }
  expect(await running).toBe(0);
  return output;
}
