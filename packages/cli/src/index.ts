/**
 * The `causeway` command as a library: run it in process with {@link runCli}, and type a
 * project's `causeway.config.ts` with {@link defineConfig}; open a store as the commands do
 * (the stored schema registry stacked on it) with {@link openStoreContext}.
 * @packageDocumentation
 * @module @causewayjs/cli
 */
export { runCli } from './program.js';
export { defineConfig, type CausewayConfig, type ConfigSchema } from './config.js';
export { openStoreContext, type StoreContext } from './store-context.js';
