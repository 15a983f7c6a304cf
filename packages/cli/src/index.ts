/**
 * The `causeway` command as a library: run it in process with {@link runCli}.
 * @packageDocumentation
 */
export { runCli } from './program.js';
