import { readFileSync } from 'node:fs';
import {
  type JsonSchema,
  type CompatibilityMode,
  COMPATIBILITY_MODES,
  type CompatibilityReport,
  type RegisteredSchema,
  SchemaRegistry,
} from '@causewayjs/core';
import { CliConflictError, CliInputError, CliUsageError } from './cli-errors.js';
import { type CliIo, printJson, printLine, printTable } from './cli-io.js';
import { parseJsonArgument } from './cli-arguments.js';
import type { StoreContext } from './store-context.js';
import type { LoadedConfig } from './config-loader.js';

/** Reads a JSON Schema given inline (`{...}`) or as a file path (`@file.json` or a path). */
export function readSchemaArgument(source: string): JsonSchema {
  const text = source.trimStart().startsWith('{') ? source : readSchemaFile(source);
  const schema = parseJsonArgument(text, 'the schema');
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new CliInputError('the schema must be a JSON Schema object');
  return schema as JsonSchema;
}

function readSchemaFile(path: string): string {
  const file = path.startsWith('@') ? path.slice(1) : path;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliUsageError(
      `cannot read schema file ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Checks a `--compatibility` value. */
export function parseCompatibility(text: string | undefined): CompatibilityMode | undefined {
  if (text === undefined) return undefined;
  if (!(COMPATIBILITY_MODES as readonly string[]).includes(text))
    throw new CliUsageError(
      `--compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}, got "${text}"`,
    );
  return text as CompatibilityMode;
}

async function openRegistry(context: StoreContext): Promise<SchemaRegistry> {
  return SchemaRegistry.open({ storage: await context.schemaStorage() });
}

/** Lists registered schemas (of one type, or all). */
export async function listSchemas(
  context: StoreContext,
  io: CliIo,
  options: { type?: string; json?: boolean },
): Promise<RegisteredSchema[]> {
  const registry = await openRegistry(context);
  const schemas = options.type === undefined ? registry.list() : registry.versions(options.type);
  if (options.json) printJson(io, schemas);
  else if (schemas.length === 0) printLine(io, 'no schemas registered');
  else
    printTable(
      io,
      ['type', 'version', 'compatibility', 'registered at'],
      schemas.map((s) => [
        s.type,
        String(s.version),
        registry.compatibility(s.type),
        s.registeredAt.toISOString(),
      ]),
    );
  return schemas;
}

/** Registers a schema as the next version of a type (refused, exit 3, when incompatible). */
export async function registerSchema(
  context: StoreContext,
  io: CliIo,
  options: {
    type: string;
    schema: JsonSchema;
    version?: number;
    compatibility?: CompatibilityMode;
    json?: boolean;
  },
): Promise<RegisteredSchema> {
  const registry = await openRegistry(context);
  const record = await registry.register(options.type, options.schema, {
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.compatibility === undefined ? {} : { compatibility: options.compatibility }),
  });
  if (options.json) printJson(io, record);
  else printLine(io, `${record.type} version ${record.version} registered`);
  return record;
}

/**
 * Registers the config file's schemas (`causeway schema register` without arguments), in the
 * order given: each as the next version of its type, or the version an identical schema
 * already has, so running it again registers only what changed. Stops at the first refused.
 *
 * @throws {CliUsageError} when there is no config file, or it names no schemas.
 * @throws {IncompatibleSchemaError} (exit 3) for a schema its type's mode refuses; those
 *   before it are registered.
 */
export async function registerConfigSchemas(
  context: StoreContext,
  io: CliIo,
  options: { config: LoadedConfig | undefined; json?: boolean },
): Promise<RegisteredSchema[]> {
  const schemas = options.config?.config.schemas;
  if (options.config === undefined)
    throw new CliUsageError(
      'give a type and a schema, or a config file with schemas (causeway.config.ts, --config)',
    );
  if (schemas === undefined || schemas.length === 0)
    throw new CliUsageError(`the config ${options.config.path} names no schemas`);
  const registry = await openRegistry(context);
  const records: RegisteredSchema[] = [];
  for (const entry of schemas) {
    const record = await registry.register(entry.type, entry.schema, {
      ...(entry.version === undefined ? {} : { version: entry.version }),
      ...(entry.compatibility === undefined ? {} : { compatibility: entry.compatibility }),
    });
    records.push(record);
    if (!options.json) printLine(io, `${record.type} version ${record.version} registered`);
  }
  if (options.json) printJson(io, records);
  return records;
}

/**
 * Reports what registering a schema would do, storing nothing.
 *
 * @throws {CliConflictError} (exit 3) when it is incompatible, after printing the report.
 */
export async function checkSchema(
  context: StoreContext,
  io: CliIo,
  options: { type: string; schema: JsonSchema; compatibility?: CompatibilityMode; json?: boolean },
): Promise<CompatibilityReport> {
  const registry = await openRegistry(context);
  const report = registry.check(options.type, options.schema, {
    ...(options.compatibility === undefined ? {} : { compatibility: options.compatibility }),
  });
  if (options.json) printJson(io, report);
  else {
    printLine(
      io,
      report.compatible
        ? `compatible (${report.mode}): would be version ${report.version}${report.alreadyRegistered ? ', already registered' : ''}`
        : `incompatible (${report.mode}) as version ${report.version}:`,
    );
    for (const issue of report.issues)
      printLine(io, `  ${issue.direction} ${issue.path}: ${issue.message}`);
  }
  if (!report.compatible)
    throw new CliConflictError(
      `the schema is not ${report.mode}-compatible with ${options.type}'s registered versions`,
    );
  return report;
}
