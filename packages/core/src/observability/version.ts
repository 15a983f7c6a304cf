/**
 * The version of the `causeway` package: the version of its OpenTelemetry instrumentation
 * scope. A test keeps it equal to `package.json`'s.
 */
export const CAUSEWAY_VERSION = '0.0.0';
