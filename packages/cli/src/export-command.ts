import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type ReadAllFilter, undecorated } from '@causewayjs/core';
import { type CliIo, printJson, printLine } from './cli-io.js';
import { toEventJson, type StreamStateJson } from './event-json.js';
import { startProgress } from './progress.js';
import type { StoreContext } from './store-context.js';

/** Options of {@link exportEvents}. */
export interface ExportOptions {
  /** The file to write; `undefined` or `-` writes to stdout. */
  file?: string;
  /** First position exported (default 1). */
  from?: number;
  filter?: ReadAllFilter;
  /** Print a JSON summary instead of a line of text (only with a file). */
  json?: boolean;
  /**
   * After the events, a line per stream with metadata or deleted (default true; only streams
   * with `filter.streamPrefix` when given).
   */
  streams?: boolean;
}

/** What an export wrote. */
export interface ExportSummary {
  events: number;
  /** Stream-state lines written after the events. */
  streams: number;
  /** Position of the last event written (0 for none). */
  lastPosition: number;
  file: string | null;
}

/**
 * Writes the store's events, in position order, as JSON lines (one {@link EventJson} each):
 * a backup that `importEvents` restores into any store. Streamed: memory holds one page.
 */
export async function exportEvents(
  context: StoreContext,
  io: CliIo,
  options: ExportOptions = {},
): Promise<ExportSummary> {
  const toStdout = options.file === undefined || options.file === '-';
  const out = toStdout ? io.stdout : createWriteStream(options.file as string, { flags: 'w' });
  const from = options.from ?? 1;
  // A backup holds the events as stored (stored version, ciphertext and all), not as the
  // context's stack reads them: `import` restores them at that version, validated at it.
  const store = undecorated(context.store);
  const head = await store.headPosition();
  const progress = startProgress(io, {
    total: Math.max(0, head - from + 1),
    label: 'positions',
    enabled: options.json !== true,
  });
  let events = 0;
  let streams = 0;
  let lastPosition = 0;
  try {
    for await (const event of store.readAll({ from, filter: options.filter })) {
      if (io.signal.aborted) break;
      if (!out.write(`${JSON.stringify(toEventJson(event))}\n`)) await once(out, 'drain');
      events++;
      lastPosition = event.position;
      if (events % 256 === 0) progress.update(event.position - from + 1);
    }
    if (options.streams !== false && !io.signal.aborted) {
      for await (const summary of store.listStreams({
        includeDeleted: true,
        ...(options.filter?.streamPrefix === undefined
          ? {}
          : { prefix: options.filter.streamPrefix }),
      })) {
        const info = await store.streamInfo(summary.stream);
        if (info.deleted === false && Object.keys(info.metadata).length === 0) continue;
        const line: StreamStateJson = {
          kind: 'stream',
          stream: summary.stream,
          revision: summary.revision,
          deleted: info.deleted,
          metadata: info.metadata,
        };
        if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
        streams++;
      }
    }
  } finally {
    progress.stop();
    if (!toStdout) {
      const closed = once(out, 'close');
      out.end();
      await closed;
    }
  }
  const summary: ExportSummary = {
    events,
    streams,
    lastPosition,
    file: toStdout ? null : options.file!,
  };
  if (!toStdout) {
    if (options.json) printJson(io, summary);
    else
      printLine(
        io,
        `exported ${events} events (up to position ${lastPosition}) and ${streams} stream states to ${options.file!}`,
      );
  }
  return summary;
}
