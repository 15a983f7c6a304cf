/** Schema registry, validation, compatibility and upcasting. */
export type {
  CompatibilityChange,
  CompatibilityIssue,
  CompatibilityMode,
} from './compatibility.js';
export { COMPATIBILITY_MODES, checkCompatibility } from './compatibility.js';
export type { JsonSchema, JsonSchemaObject, SchemaSource } from './json-schema.js';
export { toJsonSchema } from './json-schema.js';
export type { SchemaRecord, SchemaStorage } from './schema-storage.js';
export { MemorySchemaStorage } from './memory-schema-storage.js';
export type {
  CompatibilityReport,
  RegisterSchemaOptions,
  RegisteredSchema,
  SchemaRegistryOptions,
  SchemaValidationResult,
} from './schema-registry.js';
export { SchemaRegistry } from './schema-registry.js';
export type { SchemaValidatorOptions, ValidationIssue } from './schema-validator.js';
export type { EventValidationFailure } from './schema-errors.js';
export {
  IncompatibleSchemaError,
  InvalidSchemaError,
  InvalidUpcasterError,
  SchemaConflictError,
  SchemaErrorCode,
  SchemaValidationError,
  UnknownSchemaVersionError,
  UnregisteredEventTypeError,
  UpcastFailedError,
  UpcasterMissingError,
} from './schema-errors.js';
export type { Upcaster } from './upcaster.js';
export { UpcasterChain, upcaster } from './upcaster.js';
export type { SchemaAwareEventStore, WithSchemasOptions } from './with-schemas.js';
export { schemaRegistryOf, withSchemas } from './with-schemas.js';
