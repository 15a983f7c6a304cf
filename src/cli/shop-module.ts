import type { Logger } from 'pino';
import type { ProjectionStatus } from '../projections/projection-status.js';
import type { ProjectionBuild, ProjectionDefinition } from '../projections/projection.js';
import type { SagaQuery } from '../sagas/saga-view.js';
import type { StoreContext } from './store-context.js';
import { CliUsageError } from './cli-errors.js';

/** Options the CLI passes to the shop (see `examples/shop/start-shop.ts`). */
export interface ShopStartOptions {
  context: StoreContext;
  port?: number;
  host?: string;
  rate?: number;
  orders?: number;
  durationMs?: number;
  paymentFailureRate?: number;
  paymentTimeoutMs?: number;
  seed?: number;
  seedCatalog?: boolean;
  memberId?: string;
  bus?: string;
  logger?: Logger;
}

/** What the CLI needs of a running shop. */
export interface ShopRuntime {
  readonly url: string | undefined;
  readonly parts: Record<string, 'running' | 'missing' | 'off'>;
  readonly sagas: SagaQuery | undefined;
  readonly traffic: { done(): Promise<void> } | undefined;
  readonly projector: {
    statuses(): Promise<ProjectionStatus[]>;
    waitFor(name: string, position: number, options?: { timeoutMs?: number }): Promise<void>;
  };
  orderCounts(): Promise<{
    placed: number;
    completed: number;
    cancelled: number;
    total: number;
    position: number;
  }>;
  trafficStats(): { placed: number; rejected: number; failed: number } | undefined;
  /** The analytics jobs' current results. */
  readonly analytics?: { alerts(): readonly unknown[]; topProducts(): unknown };
  stop(): Promise<void>;
}

/** What `examples/shop/shop-module.ts` exports as `shopModule`. */
export interface ShopModule {
  startShop(options: ShopStartOptions): Promise<ShopRuntime>;
  /** The shop's projection definitions (for `causeway projections rebuild`). */
  readonly projections: readonly ProjectionDefinition<never>[];
}

/** A rebuild as the CLI runs it. */
export type RebuildResult = ProjectionBuild;

/**
 * Loads the shop example. It ships as TypeScript next to the sources (`examples/shop`), so
 * the CLI finds it when run from a source checkout with tsx (`npm start`); the compiled
 * binary alone has no shop.
 *
 * @throws {CliUsageError} when the shop is not there.
 */
export async function loadShopModule(): Promise<ShopModule> {
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? 'ts' : 'js';
  const url = new URL(`../../examples/shop/shop-module.${ext}`, here);
  try {
    const module = (await import(url.href)) as { shopModule: ShopModule };
    return module.shopModule;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND')
      throw new CliUsageError(
        'the shop example ships as TypeScript with the sources: run it from a checkout with `npm start` (tsx src/cli/main.ts demo)',
      );
    throw error;
  }
}
