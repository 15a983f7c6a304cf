import { readFileSync, writeFileSync } from 'node:fs';
import {
  type ChainHeadAnchor,
  type EventStore,
  exportHeads,
  verifyStore,
  type BrokenLink,
  type VerifyReport,
  type VerifyStoreOptions,
} from '@causewayjs/core';
import { CliUsageError } from './cli-errors.js';
import { printJson, printLine, type CliIo } from './cli-io.js';
import { ExitCode } from './exit-codes.js';
import { startProgress } from './progress.js';

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
  /**
   * Every stream must be chained: a stream written without integrity is a fault
   * (`missing-integrity`). Without it, such streams are reported as unchained and skipped.
   */
  requireChain?: boolean;
}

/** What `causeway verify` reports: the core's report, and the streams written without chains. */
export interface VerifyCommandReport extends VerifyReport {
  /**
   * Streams whose events carry no hash chain (written without integrity): not checked.
   * Present only when there are some.
   */
  unchained?: number;
  /** Their names (the first 100). */
  unchainedStreams?: string[];
}

const UNCHAINED_LISTED = 100;

/**
 * The store as `verify` sees it, without its unchained streams: a stream whose first event
 * (as read) carries no `metadata.integrity` was written without the integrity layer, and is
 * left out (noted in `unchained`), along with its stream row. An event of such a stream that
 * does carry a link is passed on: the stream is then half chained, and the chain check fails
 * on it. A chained stream with an event stripped of its link still fails
 * (`missing-integrity`), and so does a stream whose anchors remain while its events seem
 * unchained (`stream-missing`).
 */
function withoutUnchained(store: EventStore, unchained: Set<string>): EventStore {
  const chained = new Set<string>();
  return new Proxy(store, {
    get(target, property) {
      if (property === 'readAll')
        return async function* (...args: Parameters<EventStore['readAll']>) {
          for await (const event of target.readAll(...args)) {
            const linked = event.metadata.integrity !== undefined;
            if (!chained.has(event.stream) && !unchained.has(event.stream)) {
              if (linked) chained.add(event.stream);
              else {
                unchained.add(event.stream);
                continue;
              }
            }
            if (unchained.has(event.stream) && !linked) continue;
            yield event;
          }
        };
      if (property === 'listStreams')
        return async function* (...args: Parameters<EventStore['listStreams']>) {
          for await (const row of target.listStreams(...args))
            if (!unchained.has(row.stream)) yield row;
        };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/**
 * `causeway verify [stream]`: checks the hash chains of one stream or of the whole store, and
 * that each stream ends where its stream row and its head anchor say, and prints the first
 * fault with its place. Exit code {@link ExitCode.OK} when every chain holds,
 * {@link ExitCode.INVALID_DATA} when one is broken (the data was changed outside Causeway).
 */
export async function verifyEvents(
  stored: EventStore,
  io: CliIo,
  options: VerifyCommandOptions = {},
): Promise<ExitCode> {
  const unchained = new Set<string>();
  const store = options.requireChain === true ? stored : withoutUnchained(stored, unchained);
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
  let checked: VerifyReport;
  try {
    checked = await verifyStore(store, {
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
  const report: VerifyCommandReport =
    unchained.size === 0
      ? checked
      : {
          ...checked,
          unchained: unchained.size,
          unchainedStreams: [...unchained].sort().slice(0, UNCHAINED_LISTED),
        };
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
    if (report.unchained !== undefined)
      printLine(
        io,
        `unchained: ${report.unchained} streams written without hash chains, not checked (${(report.unchainedStreams ?? []).slice(0, 5).join(', ')}${report.unchained > 5 ? ', ...' : ''}); --require-chain makes them a fault`,
      );
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
