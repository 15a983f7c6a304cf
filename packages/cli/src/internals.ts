/**
 * Building blocks that Causeway's own packages share.
 */
export {
  CliConfigInvalidError,
  CliConfigNotFoundError,
  CliErrorCode,
  CliInputError,
  CliPortInUseError,
} from './cli-errors.js';
export {
  checkConfig,
  CONFIG_FILE_NAMES,
  findConfigFile,
  loadCliConfig,
  type LoadedConfig,
} from './config-loader.js';
export { defineConfig, type CausewayConfig, type ConfigSchema } from './config.js';
export { cliExtensions, verifyExtension } from './cli-extensions.js';
export { type CliIo } from './cli-io.js';
export { type EventJson } from './event-json.js';
export { ExitCode, exitCodeFor } from './exit-codes.js';
export { exportEvents } from './export-command.js';
export { runCli } from './program.js';
export { startProgress } from './progress.js';
export { type SensorsModule } from './sensors-module.js';
export { serveStore } from './serve-command.js';
export { type ShopModule } from './shop-module.js';
export { storeStats } from './stats-command.js';

export { verifyEvents, type VerifyCommandReport } from './verify-command.js';
