import type { ScavengeReport } from '@causewayjs/core';
import { printJson, printLine, type CliIo } from './cli-io.js';
import { ExitCode } from './exit-codes.js';
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
