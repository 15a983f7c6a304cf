/**
 * The `causeway` command as a library: run it in process with {@link runCli}, and type a
 * project's `causeway.config.ts` with {@link defineConfig}.
 * @packageDocumentation
 */
export { runCli } from './program.js';
export { defineConfig, type CausewayConfig, type ConfigSchema } from './config.js';
