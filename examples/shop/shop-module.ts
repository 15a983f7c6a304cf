import type {
  ProjectionBuild,
  ProjectionDefinition,
  ProjectionStatus,
  SagaQuery,
} from '@causewayjs/core';
import { shopProjections } from './shop-projections.js';
import { startShop, type StartShopOptions } from './start-shop.js';

/** Options the `causeway` CLI passes to the shop: those of {@link startShop}. */
export type ShopStartOptions = StartShopOptions;

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

/** What this package exports as `shopModule`: the shop as the CLI runs it. */
export interface ShopModule {
  startShop(options: ShopStartOptions): Promise<ShopRuntime>;
  /** The shop's projection definitions (for `causeway projections rebuild`). */
  readonly projections: readonly ProjectionDefinition<never>[];
}

/** A rebuild as the CLI runs it. */
export type RebuildResult = ProjectionBuild;

/** The shop as the `causeway` CLI loads it (`causeway demo`, `serve --shop`, `projections rebuild`). */
export const shopModule: ShopModule = {
  startShop: (options) => startShop(options),
  projections: shopProjections,
};
