import { Ajv, type ErrorObject, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { JsonSchema } from './json-schema.js';
import { InvalidSchemaError } from './schema-errors.js';

/** One reason data does not match a schema. */
export interface ValidationIssue {
  /** Where, as a JSON path: `$` for the whole value, `$.customer.email`, `$.lines[2].sku`. */
  path: string;
  /** What is wrong, e.g. `must be string`, `is required`. */
  message: string;
}

/** The ajv class a schema's `$schema` calls for. */
type AjvClass = typeof Ajv | typeof Ajv2019 | typeof Ajv2020;

const DIALECTS: [RegExp, AjvClass, string][] = [
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, Ajv2020, '2020-12'],
  [/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, Ajv2019, '2019-09'],
  [/^https?:\/\/json-schema\.org\/draft-07\/schema#?$/, Ajv, 'draft-07'],
];

/** Options of `SchemaValidator`. */
export interface SchemaValidatorOptions {
  /**
   * Called with each ajv instance created (one per JSON Schema dialect in use), after the
   * standard formats are added, e.g. to add formats of your own with `ajv.addFormat`.
   */
  configureAjv?: (ajv: Ajv) => void;
}

/**
 * Compiles JSON Schemas with ajv (once per schema) and validates data against them,
 * reporting every failing path. The dialect follows the schema's `$schema`: draft-07,
 * 2019-09, or 2020-12 (also when there is none). The standard `format`s (`email`, `uuid`,
 * `date-time`, `uri`...; those of `ajv-formats`, in full mode) are checked; a format this
 * process does not know is ignored, so schemas stored by newer code still compile.
 */
export class SchemaValidator {
  private readonly instances = new Map<string, Ajv>();
  private readonly compiled = new WeakMap<object, ValidateFunction>();
  private readonly compiledBooleans = new Map<boolean, ValidateFunction>();

  constructor(private readonly options: SchemaValidatorOptions = {}) {}

  /**
   * Compiles `schema` (cached per schema object), so a broken schema fails when it is
   * registered rather than when it is first used.
   *
   * @throws {InvalidSchemaError} when ajv refuses the schema or its dialect is unsupported.
   */
  compile(eventType: string, schema: JsonSchema): ValidateFunction {
    const cached =
      typeof schema === 'boolean' ? this.compiledBooleans.get(schema) : this.compiled.get(schema);
    if (cached) return cached;
    const ajv = this.ajvFor(eventType, schema);
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw new InvalidSchemaError(
        eventType,
        `ajv cannot compile it: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (typeof schema === 'boolean') this.compiledBooleans.set(schema, validate);
    else this.compiled.set(schema, validate);
    return validate;
  }

  /** The issues of `data` against `schema`; empty when it matches. */
  validate(eventType: string, schema: JsonSchema, data: unknown): ValidationIssue[] {
    const validate = this.compile(eventType, schema);
    if (validate(data)) return [];
    return toIssues(validate.errors ?? []);
  }

  private ajvFor(eventType: string, schema: JsonSchema): Ajv {
    const declared = typeof schema === 'object' ? schema.$schema : undefined;
    let dialect: [AjvClass, string] = [Ajv2020, '2020-12'];
    if (declared !== undefined) {
      const found = DIALECTS.find(
        ([pattern]) => typeof declared === 'string' && pattern.test(declared),
      );
      if (!found) {
        throw new InvalidSchemaError(
          eventType,
          `unsupported $schema ${JSON.stringify(declared)}: use draft-07, 2019-09 or 2020-12`,
        );
      }
      dialect = [found[1], found[2]];
    }
    const [AjvOf, name] = dialect;
    let ajv = this.instances.get(name);
    if (!ajv) {
      const options: AjvOptions = {
        allErrors: true,
        // Stored schemas may carry annotations and formats this process does not know.
        strict: false,
        logger: false,
        // Versions of one type may share an $id; each compiles on its own.
        addUsedSchema: false,
      };
      ajv = new AjvOf(options);
      // ajv-formats is CommonJS: under NodeNext its default export is the module object.
      ajvFormats.default(ajv);
      this.options.configureAjv?.(ajv);
      this.instances.set(name, ajv);
    }
    return ajv;
  }
}

function toIssues(errors: readonly ErrorObject[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  // zod emits a `pattern` next to each string `format`: when the format fails, its message
  // says it plainly and the generated regular expression adds nothing.
  const formatFailed = new Set(
    errors.filter((e) => e.keyword === 'format').map((e) => e.instancePath),
  );
  for (const error of errors) {
    if (error.keyword === 'pattern' && formatFailed.has(error.instancePath)) continue;
    let path = pointerToPath(error.instancePath);
    let message = error.message ?? `fails ${error.keyword}`;
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
      path = childPath(path, params.missingProperty);
      message = 'is required';
    } else if (
      error.keyword === 'additionalProperties' &&
      typeof params.additionalProperty === 'string'
    ) {
      path = childPath(path, params.additionalProperty);
      message = 'is not allowed (the schema lists no such field)';
    }
    const key = `${path}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message });
  }
  return issues;
}

function pointerToPath(pointer: string): string {
  if (pointer === '') return '$';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : childPath(path, part)), '$');
}

function childPath(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}
