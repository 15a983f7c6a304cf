import type { ShopModule } from '@causewayjs/example-shop';
import { CliUsageError } from './cli-errors.js';

export type {
  RebuildResult,
  ShopModule,
  ShopRuntime,
  ShopStartOptions,
} from '@causewayjs/example-shop';

/**
 * Loads the shop example (`@causewayjs/example-shop`, a dependency of the CLI) on first use, so
 * commands that do not run it start without it.
 *
 * @throws {CliUsageError} when the package is not installed.
 */
export async function loadShopModule(): Promise<ShopModule> {
  try {
    return (await import('@causewayjs/example-shop')).shopModule;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND')
      throw new CliUsageError(
        'the shop example is not installed: npm install @causewayjs/example-shop',
      );
    throw error;
  }
}
