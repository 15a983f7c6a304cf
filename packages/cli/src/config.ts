import type {
  CompatibilityMode,
  ProjectionDefinition,
  SagaDefinition,
  SchemaSource,
} from '@causewayjs/core';

/** One event schema the config registers (`causeway schema register` with no arguments). */
export interface ConfigSchema {
  /** The event type, e.g. `order.placed`. */
  type: string;
  /** A JSON Schema, or a zod schema (converted to JSON Schema when registered). */
  schema: SchemaSource;
  /** The version it must get (default: the next, or the one an identical schema has). */
  version?: number;
  /** Sets the type's compatibility mode. */
  compatibility?: CompatibilityMode;
}

/**
 * What a project tells the `causeway` command about itself, in `causeway.config.ts` (or
 * `.mts`, `.js`, `.mjs`): its store, and its projections, sagas and schemas, so that
 * `projections`, `rebuild`, `sagas`, `schema` and `serve` work on its own code.
 */
export interface CausewayConfig {
  /**
   * The event store URL (`sqlite:./data/events.db`, `postgres://...`, `memory:`). `--store`
   * and `CAUSEWAY_STORE` win over it. Relative SQLite paths are relative to the working
   * directory, as on the command line.
   */
  store?: string;
  /** The project's projections: `projections status`, `projections rebuild`, `serve`. */
  projections?: readonly ProjectionDefinition<never>[];
  /** The project's sagas: `sagas status`, and their subscriptions under `serve`. */
  sagas?: readonly SagaDefinition<never>[] | readonly SagaDefinition<unknown>[];
  /** The project's event schemas: `schema register` (no arguments) and `serve` register them. */
  schemas?: readonly ConfigSchema[];
}

/**
 * Types a `causeway.config.ts`: returns its argument, checked against {@link CausewayConfig}.
 *
 * @example
 * ```ts
 * // causeway.config.ts
 * import { defineConfig } from '@causewayjs/cli';
 * import { orderTotals } from './src/projections.js';
 *
 * export default defineConfig({
 *   store: 'sqlite:./data/events.db',
 *   projections: [orderTotals],
 * });
 * ```
 */
export function defineConfig<const C extends CausewayConfig>(config: C): C {
  return config;
}
