/**
 * `@causewayjs/server/internals`: the pieces of this package that Causeway's other packages (and
 * its own tests) build on but that are not its public API. Nothing here is covered by semver:
 * any release may change it. Adapter authors find the supported building blocks in
 * `@causewayjs/testing` and the public entry point.
 * @packageDocumentation
 */
export { derivedCloudEventId } from './cloud-events.js';
export { AdminUiErrorCode } from './ui/admin-ui-errors.js';
