import type { ProjectionDefinition, SagaDefinition } from '@causewayjs/core';
import type { LoadedConfig } from './config-loader.js';
import { loadShopModule } from './shop-module.js';

/**
 * The projections the CLI works with: the config file's when it names any (`projections`),
 * else the shop example's, as before config files existed.
 */
export async function projectionsOf(
  config: LoadedConfig | undefined,
): Promise<readonly ProjectionDefinition<never>[]> {
  if (config?.config.projections !== undefined) return config.config.projections;
  return (await loadShopModule()).projections;
}

/** The config file's sagas (none without a config file). */
export function sagasOf(
  config: LoadedConfig | undefined,
): readonly SagaDefinition<never>[] | readonly SagaDefinition<unknown>[] {
  return config?.config.sagas ?? [];
}
