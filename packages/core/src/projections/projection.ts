import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { SUBJECT_FORGOTTEN_EVENT } from '../security/subject-eraser.js';
import type { HandlerResult } from '../subscriptions/event-handler.js';

/**
 * How a projection is kept up to date:
 * - `'inline'`: in the transaction of the append itself, so the read model is never behind
 *   the log (appends must go through `projector.store`);
 * - `'async'`: by a checkpointed subscription, which applies each event and its checkpoint in
 *   one transaction; the read model trails the log a little.
 */
export type ProjectionMode = 'inline' | 'async';

/** What `apply` gets besides the event and the read model. */
export interface ApplyContext {
  /** The projection's name. */
  projection: string;
  /** The version being built or maintained (an old and a new one may run side by side). */
  version: number;
  /** 1 on the first try of this event, then 2, 3... (async mode; always 1 inline). */
  attempt: number;
  /** Aborted when the call timed out or the projection is stopping: stop work then. */
  signal: AbortSignal;
}

/** What `applyBatch` gets besides the events and the read model. */
export interface ApplyBatchContext {
  /** The projection's name. */
  projection: string;
  /** The version being built or maintained. */
  version: number;
  /** Aborted when the call timed out or the projection is stopping: stop work then. */
  signal: AbortSignal;
}

/**
 * A projection: folds events of some types into a read model of kind `RM` (SQL tables on
 * SQLite or PostgreSQL, in-memory documents), identified by a name and a version.
 *
 * Bump `version` whenever `setup` or `apply` change what the read model holds: the new version
 * is built beside the old one, from position 1, while the old one keeps serving, and takes over
 * once it has caught up.
 *
 * @example
 * ```ts
 * const orderTotals = defineProjection<SqliteReadModel>({
 *   name: 'order-totals',
 *   version: 1,
 *   handles: ['order.placed'],
 *   setup: (rm) => rm.database.exec(`CREATE TABLE ${rm.table()} (id TEXT PRIMARY KEY, total INTEGER)`),
 *   apply: (event, rm) => {
 *     rm.database.prepare(`INSERT INTO ${rm.table()} (id, total) VALUES (?, ?)`)
 *       .run(event.stream, (event.data as { total: number }).total);
 *   },
 * });
 * ```
 */
export interface ProjectionDefinition<RM> {
  /**
   * Lowercase letters and digits in dash-separated words (`order-totals`), at most 40
   * characters. It names the read model's tables (`order_totals_v1`).
   */
  readonly name: string;
  /** An integer from 1. */
  readonly version: number;
  /** Default `'async'`. */
  readonly mode?: ProjectionMode;
  /** The event types applied; the others are never read for it. */
  readonly handles: readonly string[];
  /** Only events of streams whose name starts with this (a category such as `order-`). */
  readonly streamPrefix?: string;
  /**
   * Creates the read model's tables or collections (named with `rm.table(...)`), inside a
   * transaction: if it throws (or rejects), nothing it created is kept. What it returns is
   * awaited, then ignored.
   */
  setup(readModel: RM): unknown;
  /**
   * Applies one event to the read model, inside the transaction that also records the
   * projection's progress (or, inline, the append). Return nothing. In async mode a
   * `nack` result (from the subscriptions module) may ask to park, skip or retry the event.
   */
  apply(
    event: RecordedEvent,
    readModel: RM,
    context: ApplyContext,
  ): void | HandlerResult | Promise<void | HandlerResult>;
  /**
   * Optional: applies several events (two or more, in position order, all of them handled
   * by this projection) in one call, with the same effect on the read model as `apply` on
   * each in turn. Async builds hand it each batch they read, and inline appends the events of
   * one append, so that one statement can stand for many: one round trip per batch on
   * PostgreSQL instead of one per event. Return nothing. In async mode, if it throws, times
   * out or returns a `nack`, the batch is rolled back and applied again event by event with
   * `apply`, which decides what is retried, parked or skipped; inline, the append fails.
   *
   * @example
   * ```ts
   * applyBatch: async (events, rm) => {
   *   await rm.client.query(
   *     `INSERT INTO ${rm.table()} (id, total) SELECT * FROM unnest($1::text[], $2::int[])`,
   *     [events.map((e) => e.stream), events.map((e) => (e.data as { total: number }).total)],
   *   );
   * },
   * ```
   */
  applyBatch?(
    events: readonly RecordedEvent[],
    readModel: RM,
    context: ApplyBatchContext,
  ): void | Promise<void>;
  /**
   * Optional: removes (or redacts) what the read model holds of `subject`, whose personal
   * data was just forgotten (`EncryptedEventStore.forgetSubject`). An async projection with
   * this hook also reads the `subject.forgotten` audit events (of any stream, whatever its
   * `handles` and `streamPrefix`), and each is handed here, in order with the other events
   * and in the transaction that records the projection's progress, so it runs exactly once
   * per build; a build made later meets the same events and forgets again. Return nothing.
   * Inline projections get no call: the audit event is not appended through the projector.
   *
   * Without it, `forgetSubject` still overwrites the subject's personal values wherever
   * they were copied verbatim in the backend's tables (read models included; see the
   * backend's subject eraser); write it for what the read model derives from them (a
   * domain, a hash, a lower-cased copy) or keys by them.
   *
   * @example
   * ```ts
   * forget: async (subject, rm) => {
   *   await rm.documents('customers').delete(subject);
   * },
   * ```
   */
  forget?(subject: string, readModel: RM, context: ApplyContext): void | Promise<void>;
}

/** Longest projection name, in characters. */
export const MAX_PROJECTION_NAME_LENGTH = 40;
/** Longest read-model table (or collection) name given to `table()`, in characters. */
export const MAX_TABLE_NAME_LENGTH = 20;
/** Highest projection version. */
export const MAX_PROJECTION_VERSION = 1_000_000;

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const TABLE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/**
 * Checks a projection definition and returns it, typed: the way to write one.
 *
 * @throws {InvalidArgumentError} naming the first bad field.
 */
export function defineProjection<RM>(
  definition: ProjectionDefinition<RM>,
): ProjectionDefinition<RM> {
  checkDefinition(definition);
  return definition;
}

/** Throws unless `definition` is a usable projection definition. */
export function checkDefinition(
  definition: unknown,
): asserts definition is ProjectionDefinition<unknown> {
  if (typeof definition !== 'object' || definition === null)
    throw new InvalidArgumentError(
      'projection',
      'must be an object { name, version, handles, setup, apply }',
    );
  const d = definition as Partial<ProjectionDefinition<unknown>>;
  if (
    typeof d.name !== 'string' ||
    d.name.length > MAX_PROJECTION_NAME_LENGTH ||
    !NAME.test(d.name)
  )
    throw new InvalidArgumentError(
      'projection.name',
      `${JSON.stringify(d.name) ?? String(d.name)} must be lowercase letters and digits in dash-separated words (order-totals), at most ${MAX_PROJECTION_NAME_LENGTH} characters`,
    );
  const where = `projection "${d.name}"`;
  if (
    typeof d.version !== 'number' ||
    !Number.isSafeInteger(d.version) ||
    d.version < 1 ||
    d.version > MAX_PROJECTION_VERSION
  )
    throw new InvalidArgumentError(
      'projection.version',
      `${where}: must be an integer from 1 to ${MAX_PROJECTION_VERSION}`,
    );
  if (d.mode !== undefined && d.mode !== 'inline' && d.mode !== 'async')
    throw new InvalidArgumentError('projection.mode', `${where}: must be 'inline' or 'async'`);
  const handles: unknown = d.handles;
  if (
    !Array.isArray(handles) ||
    handles.length === 0 ||
    handles.some((t) => typeof t !== 'string' || t.length === 0)
  )
    throw new InvalidArgumentError(
      'projection.handles',
      `${where}: must be a non-empty array of event types`,
    );
  if (d.streamPrefix !== undefined && (typeof d.streamPrefix !== 'string' || d.streamPrefix === ''))
    throw new InvalidArgumentError(
      'projection.streamPrefix',
      `${where}: must be a non-empty string`,
    );
  if (typeof d.setup !== 'function')
    throw new InvalidArgumentError(
      'projection.setup',
      `${where}: must be a function (readModel) => void`,
    );
  if (typeof d.apply !== 'function')
    throw new InvalidArgumentError(
      'projection.apply',
      `${where}: must be a function (event, readModel, context) => void`,
    );
  if (d.forget !== undefined && typeof d.forget !== 'function')
    throw new InvalidArgumentError(
      'projection.forget',
      `${where}: must be a function (subject, readModel, context) => void`,
    );
  if (d.applyBatch !== undefined && typeof d.applyBatch !== 'function')
    throw new InvalidArgumentError(
      'projection.applyBatch',
      `${where}: must be a function (events, readModel, context) => void`,
    );
}

/**
 * One build of a projection: a version, and which build of it (1, then 2, 3... for each
 * rebuild of the same version started by hand). Each build has its own read model.
 */
export interface ProjectionBuild {
  name: string;
  version: number;
  build: number;
}

/**
 * The prefix of every table (or collection) of a build: `order_totals_v2` for build 1 of
 * version 2 of `order-totals`, `order_totals_v2r3` for its third build.
 */
export function buildNamespace(build: ProjectionBuild): string {
  return `${build.name.replace(/-/g, '_')}_${buildKey(build)}`;
}

/** `v2`, or `v2r3` for a rebuild by hand. */
export function buildKey(build: ProjectionBuild): string {
  return build.build === 1 ? `v${build.version}` : `v${build.version}r${build.build}`;
}

/** The name of the subscription that builds (or, async, maintains) `build`. */
export function buildSubscriptionName(build: ProjectionBuild): string {
  return `projection:${build.name}:${buildKey(build)}`;
}

/**
 * The name of one table (or collection) of a build: the namespace alone, or with `table`
 * after two underscores (`order_totals_v2__lines`). Names never collide across projections,
 * versions or builds.
 *
 * @throws {InvalidArgumentError} for a table name that is not lowercase snake case of at
 *   most {@link MAX_TABLE_NAME_LENGTH} characters.
 */
export function buildTableName(build: ProjectionBuild, table?: string): string {
  const namespace = buildNamespace(build);
  if (table === undefined) return namespace;
  if (typeof table !== 'string' || table.length > MAX_TABLE_NAME_LENGTH || !TABLE.test(table))
    throw new InvalidArgumentError(
      'table',
      `${JSON.stringify(table) ?? String(table)} must be lowercase letters and digits in underscore-separated words, at most ${MAX_TABLE_NAME_LENGTH} characters`,
    );
  return `${namespace}__${table}`;
}

/** Whether `physical` is a table (or collection) name of `build` (see {@link buildTableName}). */
export function belongsToBuild(build: ProjectionBuild, physical: string): boolean {
  const namespace = buildNamespace(build);
  return physical === namespace || physical.startsWith(`${namespace}__`);
}

/** The prefix shared by the tables of every build of projection `name` (`order_totals_v`). */
export function projectionTablePrefix(name: string): string {
  return `${name.replace(/-/g, '_')}_v`;
}

/** Whether `table` is a table (or collection) name of some build of projection `name`. */
export function isProjectionTable(name: string, table: string): boolean {
  const prefix = projectionTablePrefix(name);
  return table.startsWith(prefix) && /^\d+(r\d+)?(__.+)?$/.test(table.slice(prefix.length));
}

/** Whether a projection handles `event` (its types and stream prefix). */
export function handlesEvent(
  definition: Pick<ProjectionDefinition<unknown>, 'handles' | 'streamPrefix'>,
  event: Pick<RecordedEvent, 'type' | 'stream'>,
): boolean {
  return (
    definition.handles.includes(event.type) &&
    (definition.streamPrefix === undefined || event.stream.startsWith(definition.streamPrefix))
  );
}

/**
 * The subject `event` tells a projection to forget: set when the definition has a `forget`
 * hook and the event is a `subject.forgotten` audit event it does not handle itself.
 */
export function forgottenSubjectFor(
  definition: Pick<ProjectionDefinition<unknown>, 'handles' | 'forget'>,
  event: Pick<RecordedEvent, 'type' | 'data'>,
): string | undefined {
  if (definition.forget === undefined || event.type !== SUBJECT_FORGOTTEN_EVENT) return undefined;
  if (definition.handles.includes(SUBJECT_FORGOTTEN_EVENT)) return undefined;
  const subject = (event.data as { subject?: unknown } | null)?.subject;
  return typeof subject === 'string' ? subject : undefined;
}

/** Whether a projection reads `event`: it handles it, or it is a forget notice for it. */
export function readsEvent(
  definition: Pick<ProjectionDefinition<unknown>, 'handles' | 'streamPrefix' | 'forget'>,
  event: Pick<RecordedEvent, 'type' | 'stream' | 'data'>,
): boolean {
  return handlesEvent(definition, event) || forgottenSubjectFor(definition, event) !== undefined;
}
