import type { EventMetadata, AppendResult, ExpectedRevision } from '@causewayjs/core';
import { currentTraceparent } from '@causewayjs/core/internals';
import { type CliIo, printJson, printLine } from './cli-io.js';
import type { StoreContext } from './store-context.js';

/** Options of {@link appendEvent}. */
export interface AppendCommandOptions {
  stream: string;
  type: string;
  data: unknown;
  metadata?: EventMetadata;
  id?: string;
  schemaVersion?: number;
  expectedRevision?: ExpectedRevision;
  json?: boolean;
}

/** Appends one event and prints where it went. */
export async function appendEvent(
  context: StoreContext,
  io: CliIo,
  options: AppendCommandOptions,
): Promise<AppendResult> {
  const traceparent = currentTraceparent();
  const metadata: EventMetadata = {
    actor: 'cli',
    ...(traceparent ? { traceparent } : {}),
    ...options.metadata,
  };
  const result = await context.store.append(
    options.stream,
    [
      {
        type: options.type,
        data: options.data,
        metadata,
        ...(options.id === undefined ? {} : { id: options.id }),
        ...(options.schemaVersion === undefined ? {} : { schemaVersion: options.schemaVersion }),
      },
    ],
    { expectedRevision: options.expectedRevision ?? 'any' },
  );
  if (options.json) printJson(io, result);
  else
    printLine(
      io,
      `appended ${options.type} to ${result.stream} at revision ${result.revision}, position ${result.position}`,
    );
  return result;
}
