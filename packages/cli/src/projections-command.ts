import {
  buildSubscriptionName,
  type ProjectionDefinition,
  type ProjectionRecord,
} from '@causewayjs/core';
import { CliNotFoundError } from './cli-errors.js';
import { type CliIo, printJson, printLine, printTable } from './cli-io.js';
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

/** Every registered build in the store's database, with position, lag and parked count. */
async function buildSummaries(context: StoreContext): Promise<ProjectionBuildSummary[]> {
  const projections = await context.projectionStore();
  const storage = projections.storage;
  const [builds, head, checkpoints] = await Promise.all([
    projections.listBuilds(),
    context.store.headPosition(),
    storage.checkpoints.list(),
  ]);
  const positions = new Map(checkpoints.map((c) => [c.name, c.position]));
  return Promise.all(
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
}

/**
 * Lists every registered projection build in the store's database (whatever process runs
 * them), with its position, lag in events and parked count, read from the registry and the
 * checkpoints: no projection code is needed to look. With `defined` (the config's
 * projections), those not built yet are listed too, with status `not built`.
 */
export async function listProjections(
  context: StoreContext,
  io: CliIo,
  options: { json?: boolean; defined?: readonly ProjectionDefinition<never>[] } = {},
): Promise<ProjectionBuildSummary[]> {
  const built = await buildSummaries(context);
  const unbuilt = (options.defined ?? [])
    .filter((p) => !built.some((b) => b.name === p.name))
    .map((p): ProjectionBuildSummary => ({
      name: p.name,
      version: p.version,
      build: 0,
      mode: p.mode ?? 'async',
      status: 'not built',
      position: 0,
      lag: 0,
      parked: 0,
      createdAt: '',
      switchedAt: null,
    }));
  const summaries = [...built, ...unbuilt];
  if (options.json) printJson(io, summaries);
  else if (summaries.length === 0) printLine(io, 'no projections registered in this store');
  else
    printTable(
      io,
      ['name', 'version', 'build', 'mode', 'status', 'position', 'lag', 'parked'],
      summaries.map((s) => [
        s.name,
        String(s.version),
        s.build === 0 ? '-' : String(s.build),
        s.mode,
        s.status,
        String(s.position),
        String(s.lag),
        String(s.parked),
      ]),
    );
  return summaries;
}

/** Where one of the project's projections stands, as `causeway projections status` shows it. */
export interface ProjectionDefinitionStatus {
  name: string;
  /** The version the project defines. */
  version: number;
  mode: string;
  /**
   * `serving` (the defined version serves), `building` (being built, nothing older serves),
   * `outdated` (an older version serves: the defined one is built when the project starts
   * it), `ahead` (the store serves a newer version than defined), `not built`.
   */
  state: 'serving' | 'building' | 'outdated' | 'ahead' | 'not built';
  /** The serving version and build, if one serves. */
  serving: { version: number; build: number } | null;
  /** The build in progress, if any. */
  building: { version: number; build: number; position: number } | null;
  position: number;
  lag: number;
  parked: number;
}

/**
 * The status of the project's projections (its config's, or the shop's): each one's defined
 * version against what the store's registry serves and builds, with position, lag and parked
 * events. Reads only: it builds nothing.
 *
 * @throws {CliNotFoundError} when `name` is not one of them.
 */
export async function projectionStatus(
  context: StoreContext,
  io: CliIo,
  options: {
    projections: readonly ProjectionDefinition<never>[];
    name?: string;
    json?: boolean;
  },
): Promise<ProjectionDefinitionStatus[]> {
  const chosen =
    options.name === undefined
      ? options.projections
      : options.projections.filter((p) => p.name === options.name);
  if (options.name !== undefined && chosen.length === 0)
    throw new CliNotFoundError('projection', options.name);
  const builds = await buildSummaries(context);
  const statuses = chosen.map((p): ProjectionDefinitionStatus => {
    const own = builds.filter((b) => b.name === p.name);
    const serving = own.find((b) => b.status === 'serving');
    const building = own
      .filter((b) => b.status === 'building')
      .sort((a, b) => b.version - a.version || b.build - a.build)[0];
    const state: ProjectionDefinitionStatus['state'] = serving
      ? serving.version === p.version
        ? 'serving'
        : serving.version < p.version
          ? 'outdated'
          : 'ahead'
      : building
        ? 'building'
        : 'not built';
    const current = serving ?? building;
    return {
      name: p.name,
      version: p.version,
      mode: p.mode ?? 'async',
      state,
      serving: serving ? { version: serving.version, build: serving.build } : null,
      building: building
        ? { version: building.version, build: building.build, position: building.position }
        : null,
      position: current?.position ?? 0,
      lag: current?.lag ?? 0,
      parked: current?.parked ?? 0,
    };
  });
  if (options.json) printJson(io, statuses);
  else if (statuses.length === 0) printLine(io, 'no projections defined');
  else
    printTable(
      io,
      ['name', 'version', 'mode', 'state', 'serving', 'position', 'lag', 'parked'],
      statuses.map((s) => [
        s.name,
        String(s.version),
        s.mode,
        s.state,
        s.serving ? `v${s.serving.version} build ${s.serving.build}` : '-',
        String(s.position),
        String(s.lag),
        String(s.parked),
      ]),
    );
  return statuses;
}
