import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { EventStore } from '../store/event-store.js';
import { undecorated } from '../store/forwarding-event-store.js';
import { verifyStore, type VerifyReport } from '../security/verify-store.js';
import { CliUsageError } from './cli-errors.js';
import { printJson, printLine, type CliIo } from './cli-io.js';
import { ExitCode } from './exit-codes.js';
import { startProgress } from './progress.js';
import type { CommandRunner, ProgramExtension } from './program.js';

/** Options of {@link verifyEvents}. */
export interface VerifyCommandOptions {
  stream?: string;
  json?: boolean;
  /** Path of an Ed25519 public key (SPKI PEM): every event must carry a valid signature. */
  publicKey?: string;
}

/**
 * `causeway verify [stream]`: checks the hash chains of one stream or of the whole store and
 * prints the first broken link. Exit code {@link ExitCode.OK} when every chain holds,
 * {@link ExitCode.INVALID_DATA} when one is broken (the data was changed outside Causeway).
 */
export async function verifyEvents(
  store: EventStore,
  io: CliIo,
  options: VerifyCommandOptions = {},
): Promise<ExitCode> {
  let publicKey: string | undefined;
  if (options.publicKey !== undefined) {
    try {
      publicKey = readFileSync(options.publicKey, 'utf8');
    } catch {
      throw new CliUsageError(`cannot read the public key file "${options.publicKey}"`);
    }
  }
  const head = await store.headPosition();
  const progress = startProgress(io, { total: head, label: 'events', enabled: !options.json });
  let report: VerifyReport;
  try {
    report = await verifyStore(store, {
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
      ...(publicKey !== undefined ? { publicKey } : {}),
      onProgress: (_events, position) => progress.update(position),
    });
  } finally {
    progress.stop();
  }
  if (options.json) printJson(io, report);
  else if (report.ok)
    printLine(io, `ok: ${report.events} events in ${report.streams} streams verified`);
  else {
    const b = report.broken;
    printLine(
      io,
      `BROKEN: stream "${b?.stream}" revision ${b?.revision} (position ${b?.position}, event ${b?.eventId}): ${b?.reason}`,
    );
    printLine(io, `${report.events} events verified before it`);
  }
  return report.ok ? ExitCode.OK : ExitCode.INVALID_DATA;
}

/**
 * The `verify` command, run with the program's store handling (`--store`, `--json`).
 *
 * @example
 * ```sh
 * causeway verify --store postgres://app@db/shop           # whole store
 * causeway verify order-42 --json --public-key signing.pub # one stream, signatures required
 * ```
 */
export function verifyCommand(io: CliIo, run: CommandRunner): Command {
  return new Command('verify')
    .description(
      'check the hash chains of a stream or the whole store; report the first broken link',
    )
    .argument('[stream]', 'only this stream')
    .addOption(
      new Option(
        '--store <url>',
        'event store URL (default: CAUSEWAY_STORE or sqlite:./data/events.db)',
      ),
    )
    .addOption(new Option('--json', 'machine-readable JSON output'))
    .addOption(
      new Option('--public-key <file>', 'Ed25519 public key (PEM): require valid signatures'),
    )
    .action(
      async (
        stream: string | undefined,
        o: { store?: string; json?: boolean; publicKey?: string },
      ) =>
        run(
          { ...(o.store !== undefined ? { store: o.store } : {}), json: o.json === true },
          (context, json) =>
            // The chains cover the events as stored, below any layer that changes them on read.
            verifyEvents(undecorated(context.store), io, {
              ...(stream !== undefined ? { stream } : {}),
              json,
              ...(o.publicKey !== undefined ? { publicKey: o.publicKey } : {}),
            }),
        ),
    );
}

/** Adds `verify` to the `causeway` program (for `cliExtensions`). */
export function verifyExtension(io: CliIo): ProgramExtension {
  return (program, run) => {
    program.addCommand(verifyCommand(io, run));
  };
}
