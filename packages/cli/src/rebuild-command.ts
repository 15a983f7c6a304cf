import { Projector, type ProjectionDefinition, type StoreTransaction } from '@causewayjs/core';
import { CliNotFoundError } from './cli-errors.js';
import { type CliIo, printJson, printLine } from './cli-io.js';
import { startProgress } from './progress.js';
import type { StoreContext } from './store-context.js';

/** What a rebuild came to. */
export interface RebuildSummary {
  name: string;
  version: number;
  build: number;
  /** Position the new build reached before it switched in. */
  position: number;
}

/**
 * Rebuilds a projection from position 1 beside the serving read model, then switches to it
 * (`Projector.rebuild` then `switched`), with a progress bar of the build's position on a
 * terminal. The definitions come from the application (the shop's, for the CLI).
 *
 * Run it against a store where no other process runs the projection, or ask the process that
 * runs it (the server's `POST /projections/:name/rebuild`).
 */
export async function rebuildProjection(
  context: StoreContext,
  io: CliIo,
  options: {
    name: string;
    projections: readonly ProjectionDefinition<never>[];
    timeoutMs?: number;
    json?: boolean;
  },
): Promise<RebuildSummary> {
  if (!options.projections.some((p) => p.name === options.name))
    throw new CliNotFoundError('projection', options.name);
  const projector = new Projector<StoreTransaction, unknown>({
    store: await context.projectionStore(),
    projections: options.projections.filter((p) => p.name === options.name),
    subscription: { lease: { wait: true, ttlMs: 10_000, retryIntervalMs: 500 } },
  });
  await projector.start();
  const progress = startProgress(io, {
    total: await context.store.headPosition(),
    label: 'positions',
    enabled: options.json !== true,
  });
  try {
    const build = await projector.rebuild(options.name);
    let position = 0;
    const timer = setInterval(() => {
      projector
        .status(options.name)
        .then((s) => {
          if (s.rebuild) {
            position = s.rebuild.position;
            progress.update(position, s.head);
          }
        })
        .catch(() => undefined);
    }, 200);
    try {
      await projector.switched(options.name, { timeoutMs: options.timeoutMs ?? 3_600_000 });
    } finally {
      clearInterval(timer);
    }
    const status = await projector.status(options.name);
    const summary: RebuildSummary = {
      name: build.name,
      version: build.version,
      build: build.build,
      position: status.position,
    };
    progress.update(status.position, status.head);
    progress.stop();
    if (options.json) printJson(io, summary);
    else
      printLine(
        io,
        `${summary.name} v${summary.version} rebuilt (build ${summary.build}) up to position ${summary.position}, now serving`,
      );
    return summary;
  } finally {
    progress.stop();
    await projector.stop();
  }
}
