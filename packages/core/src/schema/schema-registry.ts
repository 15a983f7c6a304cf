import { systemClock, type Clock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import { MAX_EVENT_TYPE_LENGTH } from '../store/validation.js';
import {
  COMPATIBILITY_MODES,
  checkCompatibility,
  type CompatibilityIssue,
  type CompatibilityMode,
} from './compatibility.js';
import { canonicalJson, toJsonSchema, type JsonSchema, type SchemaSource } from './json-schema.js';
import {
  IncompatibleSchemaError,
  SchemaConflictError,
  UnknownSchemaVersionError,
} from './schema-errors.js';
import type { SchemaRecord, SchemaStorage } from './schema-storage.js';
import { MemorySchemaStorage } from './memory-schema-storage.js';
import {
  SchemaValidator,
  type SchemaValidatorOptions,
  type ValidationIssue,
} from './schema-validator.js';

/** A registered schema version. */
export type RegisteredSchema = SchemaRecord;

/** Options of {@link SchemaRegistry.open}. */
export interface SchemaRegistryOptions extends SchemaValidatorOptions {
  /** Where schemas persist. Default: a new {@link MemorySchemaStorage}. */
  storage?: SchemaStorage;
  /** Mode of types that have none set. Default `'backward'`, as in Confluent's registry. */
  defaultCompatibility?: CompatibilityMode;
  /** Source of `registeredAt`. Default: the system clock. */
  clock?: Clock;
}

/** Options of {@link SchemaRegistry.register}. */
export interface RegisterSchemaOptions {
  /**
   * The version this schema must get. Registering the same schema under the same version
   * again is a no-op (so start-up code can register every version each time); another
   * schema under a taken version, or a version that would leave a gap, is refused.
   */
  version?: number;
  /** Sets the type's compatibility mode (stored with the schema) before checking. */
  compatibility?: CompatibilityMode;
}

/** What registering a schema would come to (see {@link SchemaRegistry.check}). */
export interface CompatibilityReport {
  compatible: boolean;
  mode: CompatibilityMode;
  /** The version the schema would get, or already has. */
  version: number;
  /** True when an identical schema is already registered as `version`. */
  alreadyRegistered: boolean;
  issues: CompatibilityIssue[];
}

/** The result of validating data against a type's schema. */
export interface SchemaValidationResult {
  valid: boolean;
  /** The version validated against. */
  version: number;
  issues: ValidationIssue[];
}

/**
 * The event schema registry: a JSON Schema per event type and version, authored with zod or
 * given as JSON Schema, validated with ajv, persisted through a {@link SchemaStorage} so it
 * survives restarts and is shared by processes on the same database.
 *
 * Each new version is checked against the previous one under the type's compatibility mode
 * (`backward` by default) and refused, with every breaking change listed, when it breaks it.
 *
 * @example
 * ```ts
 * const registry = await SchemaRegistry.open({ storage });
 * await registry.register('order.placed', z.object({ orderId: z.string(), total: z.number() }), { version: 1 });
 * await registry.register(
 *   'order.placed',
 *   z.object({ orderId: z.string(), total: z.number(), currency: z.string().default('EUR') }),
 *   { version: 2 },
 * );
 * registry.validate('order.placed', { orderId: 'o-1' }).issues; // [{ path: '$.total', message: 'is required' }]
 * ```
 */
export class SchemaRegistry {
  private readonly storage: SchemaStorage;
  private readonly validator: SchemaValidator;
  private readonly clock: Clock;
  private readonly defaultMode: CompatibilityMode;
  /** type → versions, index = version - 1. */
  private schemas = new Map<string, SchemaRecord[]>();
  private modes = new Map<string, CompatibilityMode>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(options: SchemaRegistryOptions) {
    this.storage = options.storage ?? new MemorySchemaStorage();
    this.validator = new SchemaValidator(options);
    this.clock = options.clock ?? systemClock;
    this.defaultMode = options.defaultCompatibility ?? 'backward';
    assertMode(this.defaultMode, 'defaultCompatibility');
  }

  /** Opens a registry and loads every stored schema. */
  static async open(options: SchemaRegistryOptions = {}): Promise<SchemaRegistry> {
    const registry = new SchemaRegistry(options);
    await registry.refresh();
    return registry;
  }

  /** Reloads schemas and modes from storage (to see what other processes registered). */
  async refresh(): Promise<void> {
    const [records, modes] = await Promise.all([
      this.storage.listSchemas(),
      this.storage.listCompatibility(),
    ]);
    const schemas = new Map<string, SchemaRecord[]>();
    for (const record of records) {
      const versions = schemas.get(record.type) ?? [];
      // A stored version never changes: keeping the known object keeps its compiled validator.
      versions[record.version - 1] = this.schemas.get(record.type)?.[record.version - 1] ?? record;
      schemas.set(record.type, versions);
    }
    this.schemas = schemas;
    this.modes = modes;
  }

  /**
   * Registers `schema` as the next version of `type` (or returns the version an identical
   * schema already has). Nothing is stored when it is refused.
   *
   * @throws {IncompatibleSchemaError} listing each breaking change under the type's mode.
   * @throws {InvalidSchemaError} when the schema cannot be expressed or compiled.
   * @throws {SchemaConflictError} when `options.version` is taken by another schema or
   *   would leave a gap, or another process registered a different schema meanwhile.
   */
  register(
    type: string,
    schema: SchemaSource,
    options: RegisterSchemaOptions = {},
  ): Promise<RegisteredSchema> {
    return this.serially(async () => {
      assertType(type);
      if (options.compatibility !== undefined) assertMode(options.compatibility, 'compatibility');
      const json = toJsonSchema(type, schema);
      this.validator.compile(type, json);
      await this.refresh();
      const report = this.report(type, json, options);
      if (report.alreadyRegistered) {
        if (
          options.compatibility !== undefined &&
          options.compatibility !== this.compatibility(type)
        ) {
          await this.storage.setCompatibility(type, options.compatibility);
          this.modes.set(type, options.compatibility);
        }
        return copy(this.versionsOf(type)[report.version - 1]!);
      }
      if (!report.compatible)
        throw new IncompatibleSchemaError(type, report.version, report.mode, report.issues);
      const record: SchemaRecord = {
        type,
        version: report.version,
        schema: json,
        registeredAt: new Date(this.clock.now()),
      };
      const inserted = await this.storage.insertSchema(record, options.compatibility);
      if (!inserted) {
        await this.refresh();
        const winner = this.versionsOf(type)[record.version - 1];
        if (winner && canonicalJson(winner.schema) === canonicalJson(json)) return copy(winner);
        throw new SchemaConflictError(
          type,
          record.version,
          'another process registered a different schema as this version meanwhile; register again to check against it',
        );
      }
      this.schemas.set(type, [...this.versionsOf(type), record]);
      if (options.compatibility !== undefined) this.modes.set(type, options.compatibility);
      return copy(record);
    });
  }

  /**
   * What registering `schema` for `type` would do, without storing anything: the version it
   * would get and the breaking changes, if any, under the type's mode (or `options.compatibility`).
   *
   * @throws {SchemaConflictError} as {@link SchemaRegistry.register} would for `options.version`.
   */
  check(
    type: string,
    schema: SchemaSource,
    options: RegisterSchemaOptions = {},
  ): CompatibilityReport {
    assertType(type);
    if (options.compatibility !== undefined) assertMode(options.compatibility, 'compatibility');
    return this.report(type, toJsonSchema(type, schema), options);
  }

  /** Sets the compatibility mode of `type`, checked for the versions registered from then on. */
  setCompatibility(type: string, mode: CompatibilityMode): Promise<void> {
    return this.serially(async () => {
      assertType(type);
      assertMode(mode, 'mode');
      await this.storage.setCompatibility(type, mode);
      this.modes.set(type, mode);
    });
  }

  /** The compatibility mode of `type` (the registry's default when none was set). */
  compatibility(type: string): CompatibilityMode {
    return this.modes.get(type) ?? this.defaultMode;
  }

  /** A version of `type`'s schema (the latest when `version` is omitted), or undefined. */
  get(type: string, version?: number): RegisteredSchema | undefined {
    const versions = this.versionsOf(type);
    const record = version === undefined ? versions[versions.length - 1] : versions[version - 1];
    return record && copy(record);
  }

  /** The latest version of `type`, or undefined when it has no schema. */
  latestVersion(type: string): number | undefined {
    const length = this.versionsOf(type).length;
    return length === 0 ? undefined : length;
  }

  /** True when `type` has at least one schema. */
  has(type: string): boolean {
    return this.versionsOf(type).length > 0;
  }

  /** Every version of `type`, oldest first. */
  versions(type: string): RegisteredSchema[] {
    return this.versionsOf(type).map(copy);
  }

  /** The registered event types, sorted. */
  types(): string[] {
    return [...this.schemas.keys()].sort();
  }

  /** Every registered schema, by type then version. */
  list(): RegisteredSchema[] {
    return this.types().flatMap((type) => this.versions(type));
  }

  /**
   * Validates `data` against a version of `type` (the latest by default).
   *
   * @throws {UnknownSchemaVersionError} when that version (or any, for an unknown type) is
   *   not registered.
   */
  validate(type: string, data: unknown, version?: number): SchemaValidationResult {
    const versions = this.versionsOf(type);
    const wanted = version ?? versions.length;
    const record = versions[wanted - 1];
    if (!record) {
      throw new UnknownSchemaVersionError(
        type,
        version ?? 1,
        versions.map((v) => v.version),
      );
    }
    const issues = this.validator.validate(type, record.schema, data);
    return { valid: issues.length === 0, version: wanted, issues };
  }

  private versionsOf(type: string): SchemaRecord[] {
    return this.schemas.get(type) ?? [];
  }

  private report(
    type: string,
    json: JsonSchema,
    options: RegisterSchemaOptions,
  ): CompatibilityReport {
    const versions = this.versionsOf(type);
    const mode = options.compatibility ?? this.compatibility(type);
    const canonical = canonicalJson(json);
    const next = versions.length + 1;
    if (options.version !== undefined) {
      const wanted = options.version;
      if (!(Number.isSafeInteger(wanted) && wanted >= 1)) {
        throw new InvalidArgumentError('version', 'must be an integer >= 1');
      }
      const existing = versions[wanted - 1];
      if (existing) {
        if (canonicalJson(existing.schema) === canonical) {
          return { compatible: true, mode, version: wanted, alreadyRegistered: true, issues: [] };
        }
        throw new SchemaConflictError(
          type,
          wanted,
          'that version is already registered with a different schema',
        );
      }
      if (wanted !== next) {
        throw new SchemaConflictError(
          type,
          wanted,
          `versions are gapless and the next one is ${next}`,
        );
      }
    } else {
      const same = versions.find((v) => canonicalJson(v.schema) === canonical);
      if (same)
        return {
          compatible: true,
          mode,
          version: same.version,
          alreadyRegistered: true,
          issues: [],
        };
    }
    const previous = versions[versions.length - 1];
    const issues = previous
      ? checkCompatibility(previous.schema, json, mode, {
          previous: `v${previous.version}`,
          next: `v${next}`,
        })
      : [];
    return {
      compatible: issues.length === 0,
      mode,
      version: next,
      alreadyRegistered: false,
      issues,
    };
  }

  /** Runs registrations one at a time, so two of them never pick the same version. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function copy(record: SchemaRecord): SchemaRecord {
  return {
    ...record,
    schema: structuredClone(record.schema),
    registeredAt: new Date(record.registeredAt),
  };
}

function assertType(type: unknown): asserts type is string {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_EVENT_TYPE_LENGTH) {
    throw new InvalidArgumentError(
      'type',
      `must be a non-empty string of at most ${MAX_EVENT_TYPE_LENGTH} characters`,
    );
  }
}

function assertMode(mode: unknown, argument: string): asserts mode is CompatibilityMode {
  if (!COMPATIBILITY_MODES.includes(mode as CompatibilityMode)) {
    throw new InvalidArgumentError(argument, `must be one of ${COMPATIBILITY_MODES.join(', ')}`);
  }
}
