#!/usr/bin/env node
/**
 * The `causeway` command. All logic lives in testable functions (`runCli` and the command
 * modules); this file only binds it to the process: signals, streams and the exit code.
 * @packageDocumentation
 */
import { processIo } from './cli-io.js';
import { runCli } from './program.js';
import { cliExtensions } from './cli-extensions.js';

const controller = new AbortController();
let interrupts = 0;
const onSignal = () => {
  interrupts++;
  // A second Ctrl-C leaves at once, whatever is still closing.
  if (interrupts > 1) process.exit(130);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// A reader that went away (`causeway read | head`) is not an error: stop writing, quietly.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });

const io = processIo(controller.signal);
process.exitCode = await runCli(process.argv.slice(2), io, cliExtensions(io));
