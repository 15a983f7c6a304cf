import { buildSubscriptionName } from '@causewayjs/core';
import type { ProjectionRecord } from '@causewayjs/core';
import type { CliIo } from './cli-io.js';
import { printJson, printLine, printTable } from './cli-io.js';
import type { StoreContext } from './store-context.js';

/** One registered build of a projection, as `causeway projections list` shows it. */
export interface ProjectionBuildSummary {
  name: string;
  version: number;
  build: number;
  mode: string;
  status: string;
  /** Position the build has reached (its checkpoint; the head for inline builds). */
  position: number;
  /** Events committed after it. */
  lag: number;
  parked: number;
  createdAt: string;
  switchedAt: string | null;
}

/**
 * Lists every registered projection build in the store's database (whatever process runs
 * them), with its position, lag in events and parked count, read from the registry and the
 * checkpoints: no projection code is needed to look.
 */
export async function listProjections(
  context: StoreContext,
  io: CliIo,
  options: { json?: boolean } = {},
): Promise<ProjectionBuildSummary[]> {
  const projections = await context.projectionStore();
  const storage = projections.storage;
  const [builds, head, checkpoints] = await Promise.all([
    projections.listBuilds(),
    context.store.headPosition(),
    storage.checkpoints.list(),
  ]);
  const positions = new Map(checkpoints.map((c) => [c.name, c.position]));
  const summaries = await Promise.all(
    builds.map(async (b: ProjectionRecord): Promise<ProjectionBuildSummary> => {
      const subscription = buildSubscriptionName(b);
      const inlineServing = b.mode === 'inline' && b.status === 'serving';
      const position = inlineServing ? (b.frozenAt ?? head) : (positions.get(subscription) ?? 0);
      return {
        name: b.name,
        version: b.version,
        build: b.build,
        mode: b.mode,
        status: b.status,
        position,
        lag: Math.max(0, head - position),
        parked: await storage.parked.count(subscription),
        createdAt: b.createdAt.toISOString(),
        switchedAt: b.switchedAt ? b.switchedAt.toISOString() : null,
      };
    }),
  );
  if (options.json) printJson(io, summaries);
  else if (summaries.length === 0) printLine(io, 'no projections registered in this store');
  else
    printTable(
      io,
      ['name', 'version', 'build', 'mode', 'status', 'position', 'lag', 'parked'],
      summaries.map((s) => [
        s.name,
        String(s.version),
        String(s.build),
        s.mode,
        s.status,
        String(s.position),
        String(s.lag),
        String(s.parked),
      ]),
    );
  return summaries;
}
