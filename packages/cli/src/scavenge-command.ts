import { Command, Option } from 'commander';
import type { ScavengeReport } from '@causewayjs/core';
import { parseCount } from './cli-arguments.js';
import { printJson, printLine, type CliIo } from './cli-io.js';
import { ExitCode } from './exit-codes.js';
import type { CommandRunner, ProgramExtension } from './program.js';
import type { StoreContext } from './store-context.js';
import { scavengeTarget } from './scavenge-target.js';
import { redactUrl } from './stats-command.js';

/** Options of {@link scavengeStore}. */
export interface ScavengeCommandOptions {
  /** Most events removed per transaction (default 1000). */
  batchSize?: number;
  /** Count only. */
  dryRun?: boolean;
  /** SQLite: rewrite the file so it shrinks. */
  vacuum?: boolean;
  json?: boolean;
  /**
   * Path of the Ed25519 private key (PEM) the store's hash chains are signed with: the chain
   * starts a scavenge records are signed with it. Required when the store's anchors are signed.
   */
  signingKey?: string;
  /** Key id recorded with those signatures (`kid`). */
  keyId?: string;
}

/**
 * `causeway scavenge`: physically removes the events the store no longer shows (tombstoned
 * streams; events hidden by `truncateBefore`, `maxCount`, `maxAge`) and the snapshots of
 * tombstoned streams, in batches, and prints what it freed. Stops between batches on
 * SIGINT/SIGTERM ({@link ExitCode.INTERRUPTED}); running it again goes on. On a store with
 * hash-chain anchors it scavenges through the integrity layer, which records each stream's
 * new chain start (see {@link scavengeTarget}), so `causeway verify` passes afterwards.
 */
export async function scavengeStore(
  context: StoreContext,
  io: CliIo,
  options: ScavengeCommandOptions = {},
): Promise<ExitCode> {
  const target = await scavengeTarget(context, {
    ...(options.signingKey !== undefined ? { signingKey: options.signingKey } : {}),
    ...(options.keyId !== undefined ? { keyId: options.keyId } : {}),
  });
  const report: ScavengeReport = await target.scavenge({
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    dryRun: options.dryRun === true,
    vacuum: options.vacuum === true,
    signal: io.signal,
    onProgress: (p) => {
      if (io.interactive && options.json !== true)
        io.stderr.write(`batch ${p.batch}: ${p.totalEventsRemoved} events\r`);
    },
  });
  if (options.json) printJson(io, { store: redactUrl(context.url), ...report });
  else {
    const verb = report.dryRun ? 'would remove' : 'removed';
    printLine(io, `store ${redactUrl(context.url)}`);
    printLine(
      io,
      `${verb} ${report.eventsRemoved} events (${report.bytesRemoved} bytes of data and metadata) from ${report.streamsScavenged} streams, ${report.streamsEmptied} left empty, in ${report.batches} batches`,
    );
    if (report.snapshotsCleared !== undefined && !report.dryRun)
      printLine(io, `cleared the snapshots of ${report.snapshotsCleared} deleted streams`);
    if (report.fileBytesFreed !== undefined)
      printLine(io, `database file shrank by ${report.fileBytesFreed} bytes`);
    if (report.interrupted) printLine(io, 'interrupted: run it again to go on');
  }
  return report.interrupted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/**
 * The `scavenge` command, run with the program's store handling (`--store`, `--json`).
 *
 * @example
 * ```sh
 * causeway scavenge --store sqlite:./data/events.db --dry-run
 * causeway scavenge --store postgres://app@db/shop --batch-size 500 --json
 * causeway scavenge --store postgres://app@db/shop --signing-key signing.pem --key-id k1
 * ```
 */
export function scavengeCommand(io: CliIo, run: CommandRunner): Command {
  return new Command('scavenge')
    .description(
      'remove for good the events reads no longer show (deleted streams, truncateBefore, maxCount, maxAge)',
    )
    .addOption(
      new Option(
        '--store <url>',
        'event store URL (default: CAUSEWAY_STORE or sqlite:./data/events.db)',
      ),
    )
    .addOption(new Option('--json', 'machine-readable JSON output'))
    .option('--batch-size <n>', 'most events removed per transaction', '1000')
    .option('--dry-run', 'count what would be removed, remove nothing')
    .option('--vacuum', 'SQLite: also VACUUM so the file shrinks (rewrites the file)')
    .option(
      '--signing-key <file>',
      'Ed25519 private key (PEM) signing the hash chains: the chain starts recorded are signed with it (required when the anchors are signed)',
    )
    .option('--key-id <id>', 'key id recorded with those signatures')
    .action(
      async (o: {
        store?: string;
        json?: boolean;
        batchSize: string;
        dryRun?: boolean;
        vacuum?: boolean;
        signingKey?: string;
        keyId?: string;
      }) => {
        const batchSize = parseCount(o.batchSize, '--batch-size', 1);
        await run(
          { ...(o.store !== undefined ? { store: o.store } : {}), json: o.json === true },
          (context, json) =>
            scavengeStore(context, io, {
              batchSize,
              dryRun: o.dryRun === true,
              vacuum: o.vacuum === true,
              json,
              ...(o.signingKey !== undefined ? { signingKey: o.signingKey } : {}),
              ...(o.keyId !== undefined ? { keyId: o.keyId } : {}),
            }),
        );
      },
    );
}

/** Adds `scavenge` to the `causeway` program (for `cliExtensions`). */
export function scavengeExtension(io: CliIo): ProgramExtension {
  return (program, run) => {
    program.addCommand(scavengeCommand(io, run));
  };
}
