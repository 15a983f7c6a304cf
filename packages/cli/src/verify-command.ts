import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { ChainHeadAnchor } from '@causewayjs/core';
import type { EventStore } from '@causewayjs/core';
import { undecorated } from '@causewayjs/core';
import { exportHeads, verifyStore, type BrokenLink, type VerifyReport, type VerifyStoreOptions } from '@causewayjs/core';
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
  /** The store's chain anchors: streams must end where their anchors say. */
  anchors?: VerifyStoreOptions['anchors'];
  /** A chained stream without a head anchor is a fault. */
  requireAnchors?: boolean;
  /** Path of a head list written by `exportHeads`: each head must still be in the store. */
  expectHeads?: string;
  /** Path to write the verified store's head list to (JSON), when every chain holds. */
  exportHeads?: string;
}

/**
 * `causeway verify [stream]`: checks the hash chains of one stream or of the whole store, and
 * that each stream ends where its stream row and its head anchor say, and prints the first
 * fault with its place. Exit code {@link ExitCode.OK} when every chain holds,
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
  const expectHeads =
    options.expectHeads !== undefined ? readHeads(options.expectHeads) : undefined;
  const head = await store.headPosition();
  const progress = startProgress(io, { total: head, label: 'events', enabled: !options.json });
  let report: VerifyReport;
  try {
    report = await verifyStore(store, {
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
      ...(publicKey !== undefined ? { publicKey } : {}),
      ...(options.anchors ? { anchors: options.anchors } : {}),
      ...(options.requireAnchors === true ? { requireAnchors: true } : {}),
      ...(expectHeads ? { expectHeads } : {}),
      onProgress: (_events, position) => progress.update(position),
    });
  } finally {
    progress.stop();
  }
  if (report.ok && options.exportHeads !== undefined) {
    const heads = await exportHeads(store, {
      ...(options.anchors ? { anchors: options.anchors } : {}),
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
    });
    try {
      writeFileSync(options.exportHeads, `${JSON.stringify(heads, null, 2)}\n`);
    } catch {
      throw new CliUsageError(`cannot write the head list "${options.exportHeads}"`);
    }
  }
  if (options.json) printJson(io, report);
  else if (report.ok) {
    const anchored =
      report.anchored !== undefined
        ? ` (${report.anchored} anchored, ${report.unanchored ?? 0} without anchors)`
        : '';
    printLine(io, `ok: ${report.events} events in ${report.streams} streams verified${anchored}`);
  } else if (report.broken) {
    printLine(io, `BROKEN: ${describeBroken(report.broken)}`);
    printLine(io, `${report.events} events verified before it`);
  }
  return report.ok ? ExitCode.OK : ExitCode.INVALID_DATA;
}

/** One line saying where the fault is. */
function describeBroken(b: BrokenLink): string {
  const where =
    b.position !== undefined
      ? `stream "${b.stream}" revision ${b.revision} (position ${b.position}, event ${b.eventId ?? '?'})`
      : `stream "${b.stream}" revision ${b.revision}`;
  const details = [
    b.missing ? `revisions ${b.missing.from} to ${b.missing.to} missing` : undefined,
    b.storedRevision !== undefined
      ? `last stored revision ${b.storedRevision ?? 'none'}`
      : undefined,
    b.anchoredRevision !== undefined ? `anchored revision ${b.anchoredRevision}` : undefined,
    b.streamRevision !== undefined
      ? `stream row revision ${b.streamRevision ?? 'none'}`
      : undefined,
  ].filter((d) => d !== undefined);
  return `${where}: ${b.reason}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}

/** A head list written by `--export-heads`. */
function readHeads(path: string): ChainHeadAnchor[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new CliUsageError(`cannot read the head list "${path}" (JSON, as --export-heads writes)`);
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.every((h: Partial<ChainHeadAnchor> | null) => {
      return (
        typeof h === 'object' &&
        h !== null &&
        typeof h.stream === 'string' &&
        Number.isSafeInteger(h.revision) &&
        typeof h.hash === 'string'
      );
    });
  if (!ok) throw new CliUsageError(`"${path}" is not a head list ([{ stream, revision, hash }])`);
  return parsed as ChainHeadAnchor[];
}

/**
 * The `verify` command, run with the program's store handling (`--store`, `--json`).
 *
 * @example
 * ```sh
 * causeway verify --store postgres://app@db/shop           # whole store
 * causeway verify order-42 --json --public-key signing.pub # one stream, signatures required
 * causeway verify --export-heads heads.json                # keep the heads somewhere else...
 * causeway verify --expect-heads heads.json                # ...and find a rollback behind them
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
    .addOption(new Option('--require-anchors', 'a chained stream without a head anchor is a fault'))
    .addOption(
      new Option(
        '--expect-heads <file>',
        'head list from an earlier --export-heads: each head must still be in the store',
      ),
    )
    .addOption(
      new Option(
        '--export-heads <file>',
        'when every chain holds, write the (signed) head of every stream to this file',
      ),
    )
    .action(
      async (
        stream: string | undefined,
        o: {
          store?: string;
          json?: boolean;
          publicKey?: string;
          requireAnchors?: boolean;
          expectHeads?: string;
          exportHeads?: string;
        },
      ) =>
        run(
          { ...(o.store !== undefined ? { store: o.store } : {}), json: o.json === true },
          async (context, json) =>
            // The chains cover the events as stored, below any layer that changes them on read.
            verifyEvents(undecorated(context.store), io, {
              ...(stream !== undefined ? { stream } : {}),
              json,
              ...(o.publicKey !== undefined ? { publicKey: o.publicKey } : {}),
              anchors: await context.chainAnchorStore(),
              ...(o.requireAnchors === true ? { requireAnchors: true } : {}),
              ...(o.expectHeads !== undefined ? { expectHeads: o.expectHeads } : {}),
              ...(o.exportHeads !== undefined ? { exportHeads: o.exportHeads } : {}),
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
