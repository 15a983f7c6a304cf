import { canonicalJson, type JsonSchema, type JsonSchemaObject } from './json-schema.js';

/**
 * How a new schema version must relate to the previous one, as in the Confluent schema
 * registry:
 * - `backward`: the new schema can read data written with the previous one (consumers
 *   upgrade first; the default);
 * - `forward`: the previous schema can read data written with the new one (producers
 *   upgrade first);
 * - `full`: both;
 * - `none`: no check.
 */
export type CompatibilityMode = 'backward' | 'forward' | 'full' | 'none';

/** Every compatibility mode, for validation and listings. */
export const COMPATIBILITY_MODES: readonly CompatibilityMode[] = [
  'backward',
  'forward',
  'full',
  'none',
];

/** The kind of a breaking change. */
export type CompatibilityChange =
  | 'required-added'
  | 'property-refused'
  | 'content-model-closed'
  | 'type-changed'
  | 'enum-narrowed'
  | 'constraint-tightened'
  | 'unsupported-keyword';

/** One breaking change found between two schemas. */
export interface CompatibilityIssue {
  /** `backward` (the new schema reading old data) or `forward` (the old reading new). */
  direction: 'backward' | 'forward';
  /** Where in the data, as a JSON path: `$.customer.email`, `$.lines[]`. */
  path: string;
  change: CompatibilityChange;
  /** What breaks, in words. */
  message: string;
}

/** Names of the two schemas in messages, e.g. `v3` and `v2`. */
interface Roles {
  reader: string;
  writer: string;
}

/**
 * The breaking changes between the previous and the next version of a type's schema under
 * `mode`; empty when the change is allowed.
 *
 * The check is structural and conservative: it follows `properties`, `required`,
 * `additionalProperties`, `items`/`prefixItems`, `type` (an `integer` is a `number`),
 * `enum`/`const`, `anyOf`/`oneOf`, local `$ref`s, and the numeric, string, array and object
 * bounds. A field the reader requires is fine when the writer requires it too or the reader
 * gives it a `default`. Keywords it cannot reason about (`not`, `if`, `patternProperties`...)
 * count as breaking when they differ.
 *
 * @example
 * ```ts
 * checkCompatibility(v1, v2, 'backward', { previous: 'v1', next: 'v2' });
 * // [{ direction: 'backward', path: '$.email', change: 'required-added', message: '...' }]
 * ```
 */
export function checkCompatibility(
  previous: JsonSchema,
  next: JsonSchema,
  mode: CompatibilityMode,
  names: { previous: string; next: string } = {
    previous: 'the previous schema',
    next: 'the new schema',
  },
): CompatibilityIssue[] {
  const issues: CompatibilityIssue[] = [];
  if (mode === 'backward' || mode === 'full') {
    const found = canRead(next, previous, { reader: names.next, writer: names.previous });
    issues.push(...found.map((i) => ({ ...i, direction: 'backward' as const })));
  }
  if (mode === 'forward' || mode === 'full') {
    const found = canRead(previous, next, { reader: names.previous, writer: names.next });
    issues.push(...found.map((i) => ({ ...i, direction: 'forward' as const })));
  }
  return issues;
}

type Issue = Omit<CompatibilityIssue, 'direction'>;

/**
 * The reasons data valid under `writer` might be refused by `reader` (empty: it never is,
 * as far as the structural check can tell).
 */
export function canRead(reader: JsonSchema, writer: JsonSchema, roles: Roles): Issue[] {
  const ctx: Context = { roles, readerRoot: reader, writerRoot: writer, visiting: new Set() };
  return compare(reader, writer, '$', ctx);
}

interface Context {
  roles: Roles;
  readerRoot: JsonSchema;
  writerRoot: JsonSchema;
  /** Pairs of (reader, writer) nodes being compared, to stop on recursive `$ref`s. */
  visiting: Set<string>;
}

const TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'] as const;
type JsonType = (typeof TYPES)[number];

const UNSUPPORTED = [
  'not',
  'if',
  'then',
  'else',
  'patternProperties',
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  'propertyNames',
  'contains',
  'unevaluatedProperties',
  'unevaluatedItems',
] as const;

const nodeIds = new WeakMap<object, number>();
let nextNodeId = 1;
function nodeId(node: JsonSchema): string {
  if (typeof node === 'boolean') return String(node);
  let id = nodeIds.get(node);
  if (id === undefined) {
    id = nextNodeId++;
    nodeIds.set(node, id);
  }
  return String(id);
}

function compare(reader: JsonSchema, writer: JsonSchema, path: string, ctx: Context): Issue[] {
  const r = resolve(reader, ctx.readerRoot);
  const w = resolve(writer, ctx.writerRoot);
  const key = `${nodeId(r)}|${nodeId(w)}`;
  if (ctx.visiting.has(key)) return []; // a recursive schema: assume the cycle is fine
  ctx.visiting.add(key);
  try {
    const writerBranches = branches(w, ctx.writerRoot);
    const readerBranches = branches(r, ctx.readerRoot);
    const issues: Issue[] = [];
    for (const wb of writerBranches) {
      let best: Issue[] | undefined;
      for (const rb of readerBranches) {
        const found = compareNodes(rb, wb, path, ctx);
        if (!best || found.length < best.length) best = found;
        if (found.length === 0) break;
      }
      issues.push(...(best ?? []));
    }
    return dedupe(issues);
  } finally {
    ctx.visiting.delete(key);
  }
}

/** Follows local `$ref`s (`#`, `#/$defs/x`, `#/definitions/x`). */
function resolve(node: JsonSchema, root: JsonSchema): JsonSchema {
  let current = node;
  for (
    let hops = 0;
    hops < 32 && typeof current === 'object' && typeof current.$ref === 'string';
    hops++
  ) {
    const target = pointer(root, current.$ref);
    if (target === undefined) return current;
    const { $ref: _ref, ...siblings } = current;
    current =
      Object.keys(siblings).length === 0 || typeof target === 'boolean'
        ? target
        : { ...siblings, ...target };
  }
  return current;
}

function pointer(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'boolean' || (typeof node === 'object' && node !== null)
    ? (node as JsonSchema)
    : undefined;
}

/** A schema's alternatives: its `anyOf`/`oneOf` branches (each with the shared keywords), or itself. */
function branches(node: JsonSchema, root: JsonSchema): JsonSchema[] {
  if (typeof node === 'boolean') return [node];
  let merged: JsonSchemaObject = node;
  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node;
    merged = (allOf as JsonSchema[]).reduce<JsonSchemaObject>(
      (acc, part) => mergeAll(acc, resolve(part, root)),
      rest,
    );
  }
  const alternatives = merged.anyOf ?? merged.oneOf;
  if (!Array.isArray(alternatives)) return [merged];
  const { anyOf: _a, oneOf: _o, ...shared } = merged;
  return (alternatives as JsonSchema[]).flatMap((alt) => {
    const resolved = resolve(alt, root);
    if (typeof resolved === 'boolean')
      return [Object.keys(shared).length === 0 ? resolved : shared];
    return branches({ ...shared, ...resolved }, root);
  });
}

/** An approximate intersection for `allOf`: properties and `required` are united, the rest overlaid. */
function mergeAll(a: JsonSchemaObject, b: JsonSchema): JsonSchemaObject {
  if (typeof b === 'boolean') return a;
  const out: JsonSchemaObject = { ...a, ...b };
  if (isObject(a.properties) || isObject(b.properties)) {
    out.properties = {
      ...(a.properties as object | undefined),
      ...(b.properties as object | undefined),
    };
  }
  if (Array.isArray(a.required) || Array.isArray(b.required)) {
    out.required = [
      ...new Set([...((a.required as string[]) ?? []), ...((b.required as string[]) ?? [])]),
    ];
  }
  return out;
}

function compareNodes(r: JsonSchema, w: JsonSchema, path: string, ctx: Context): Issue[] {
  const { reader, writer } = ctx.roles;
  if (w === false || r === true) return [];
  if (r === false) {
    return [
      issue(
        path,
        'type-changed',
        `${reader} accepts no value here, but ${writer} data may have one`,
      ),
    ];
  }
  const ro: JsonSchemaObject = r;
  const wo: JsonSchemaObject = w === true ? {} : w;
  if (Object.keys(ro).every((k) => ANNOTATIONS.has(k))) return [];

  const issues: Issue[] = [];
  const rTypes = typesOf(ro);
  const wTypes = typesOf(wo);
  const missing = [...wTypes].filter((t) => !acceptsType(rTypes, t));
  if (missing.length > 0) {
    const overlap = [...wTypes].some((t) => acceptsType(rTypes, t));
    const from = describeTypes(wTypes);
    const to = describeTypes(rTypes);
    issues.push(
      issue(
        path,
        'type-changed',
        overlap
          ? `type narrowed from ${from} to ${to}: ${missing.join(', ')} written with ${writer} would be refused`
          : `type changed from ${from} (${writer}) to ${to} (${reader})`,
      ),
    );
    if (!overlap) return issues;
  }

  issues.push(...compareValues(ro, wo, path, ctx));
  const common = (t: JsonType) => wTypes.has(t) && acceptsType(rTypes, t);
  if (common('number') || common('integer')) issues.push(...compareNumbers(ro, wo, path, ctx));
  if (common('string')) issues.push(...compareStrings(ro, wo, path, ctx));
  if (common('array')) issues.push(...compareArrays(ro, wo, path, ctx));
  if (common('object')) issues.push(...compareObjects(ro, wo, path, ctx));

  for (const keyword of UNSUPPORTED) {
    if (ro[keyword] === undefined) continue;
    if (wo[keyword] !== undefined && canonicalJson(ro[keyword]) === canonicalJson(wo[keyword]))
      continue;
    issues.push(
      issue(
        path,
        'unsupported-keyword',
        `"${keyword}" differs between ${writer} and ${reader}, and its effect cannot be checked: treat it as breaking`,
      ),
    );
  }
  return issues;
}

const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  '$defs',
  'definitions',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

function typesOf(node: JsonSchemaObject): Set<JsonType> {
  const t = node.type;
  if (typeof t === 'string') return new Set([t as JsonType]);
  if (Array.isArray(t)) return new Set(t as JsonType[]);
  const values = enumValues(node);
  if (values) return new Set(values.map(jsonTypeOf));
  return new Set(TYPES);
}

function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

function acceptsType(types: Set<JsonType>, t: JsonType): boolean {
  return types.has(t) || (t === 'integer' && types.has('number'));
}

function describeTypes(types: Set<JsonType>): string {
  return types.size === TYPES.length ? 'any type' : [...types].join(' | ');
}

function enumValues(node: JsonSchemaObject): unknown[] | undefined {
  if (node.const !== undefined) return [node.const];
  return Array.isArray(node.enum) ? node.enum : undefined;
}

function compareValues(
  r: JsonSchemaObject,
  w: JsonSchemaObject,
  path: string,
  ctx: Context,
): Issue[] {
  const allowed = enumValues(r);
  if (!allowed) return [];
  const { reader, writer } = ctx.roles;
  const written = enumValues(w);
  if (!written) {
    return [
      issue(
        path,
        'enum-narrowed',
        `${reader} allows only ${list(allowed)}, but ${writer} allowed any value`,
      ),
    ];
  }
  const known = new Set(allowed.map((v) => canonicalJson(v)));
  const dropped = written.filter((v) => !known.has(canonicalJson(v)));
  if (dropped.length === 0) return [];
  return [
    issue(
      path,
      'enum-narrowed',
      `enum narrowed: ${list(dropped)} allowed by ${writer} but not by ${reader}`,
    ),
  ];
}

function list(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

type Bound = { value: number; exclusive: boolean } | undefined;

function lowerBound(node: JsonSchemaObject): Bound {
  const min = num(node.minimum);
  const exMin = num(node.exclusiveMinimum);
  if (exMin !== undefined && (min === undefined || exMin >= min))
    return { value: exMin, exclusive: true };
  return min === undefined ? undefined : { value: min, exclusive: false };
}

function upperBound(node: JsonSchemaObject): Bound {
  const max = num(node.maximum);
  const exMax = num(node.exclusiveMaximum);
  if (exMax !== undefined && (max === undefined || exMax <= max))
    return { value: exMax, exclusive: true };
  return max === undefined ? undefined : { value: max, exclusive: false };
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** True when the reader's bound refuses values the writer's allows. */
function tighter(r: Bound, w: Bound, lower: boolean): boolean {
  if (!r) return false;
  if (!w) return true;
  if (r.value === w.value) return r.exclusive && !w.exclusive;
  return lower ? r.value > w.value : r.value < w.value;
}

function describeBound(b: Bound): string {
  return b ? `${b.exclusive ? 'exclusive ' : ''}${b.value}` : 'none';
}

function compareNumbers(
  r: JsonSchemaObject,
  w: JsonSchemaObject,
  path: string,
  ctx: Context,
): Issue[] {
  const issues: Issue[] = [];
  const { reader, writer } = ctx.roles;
  const [rLow, wLow, rHigh, wHigh] = [lowerBound(r), lowerBound(w), upperBound(r), upperBound(w)];
  if (tighter(rLow, wLow, true)) {
    issues.push(
      issue(
        path,
        'constraint-tightened',
        `minimum raised from ${describeBound(wLow)} (${writer}) to ${describeBound(rLow)} (${reader})`,
      ),
    );
  }
  if (tighter(rHigh, wHigh, false)) {
    issues.push(
      issue(
        path,
        'constraint-tightened',
        `maximum lowered from ${describeBound(wHigh)} (${writer}) to ${describeBound(rHigh)} (${reader})`,
      ),
    );
  }
  const rMul = num(r.multipleOf);
  const wMul = num(w.multipleOf);
  if (rMul !== undefined && (wMul === undefined || !Number.isInteger(wMul / rMul))) {
    issues.push(issue(path, 'constraint-tightened', `${reader} requires a multiple of ${rMul}`));
  }
  return issues;
}

function compareLengths(
  r: JsonSchemaObject,
  w: JsonSchemaObject,
  path: string,
  ctx: Context,
  minKey: string,
  maxKey: string,
  what: string,
): Issue[] {
  const issues: Issue[] = [];
  const { reader, writer } = ctx.roles;
  const rMin = num(r[minKey]) ?? 0;
  const wMin = num(w[minKey]) ?? 0;
  if (rMin > wMin) {
    issues.push(
      issue(
        path,
        'constraint-tightened',
        `${minKey} raised from ${wMin} (${writer}) to ${rMin} (${reader}): shorter ${what} would be refused`,
      ),
    );
  }
  const rMax = num(r[maxKey]);
  const wMax = num(w[maxKey]);
  if (rMax !== undefined && (wMax === undefined || rMax < wMax)) {
    issues.push(
      issue(
        path,
        'constraint-tightened',
        `${maxKey} lowered from ${wMax ?? 'none'} (${writer}) to ${rMax} (${reader}): longer ${what} would be refused`,
      ),
    );
  }
  return issues;
}

function compareStrings(
  r: JsonSchemaObject,
  w: JsonSchemaObject,
  path: string,
  ctx: Context,
): Issue[] {
  const issues = compareLengths(r, w, path, ctx, 'minLength', 'maxLength', 'strings');
  const { reader, writer } = ctx.roles;
  for (const key of ['pattern', 'format'] as const) {
    if (r[key] !== undefined && r[key] !== w[key]) {
      issues.push(
        issue(
          path,
          'constraint-tightened',
          `${key} ${w[key] === undefined ? 'added' : 'changed'}: ${reader} requires ${JSON.stringify(r[key])}` +
            (w[key] === undefined
              ? `, ${writer} had none`
              : `, ${writer} had ${JSON.stringify(w[key])}`),
        ),
      );
    }
  }
  return issues;
}

function compareArrays(
  r: JsonSchemaObject,
  w: JsonSchemaObject,
  path: string,
  ctx: Context,
): Issue[] {
  const issues = compareLengths(r, w, path, ctx, 'minItems', 'maxItems', 'arrays');
  if (r.uniqueItems === true && w.uniqueItems !== true) {
    issues.push(issue(path, 'constraint-tightened', `${ctx.roles.reader} requires unique items`));
  }
  // Draft-07 tuples are `items: [...]`; 2020-12 ones are `prefixItems` with `items` for the rest.
  const tuple = (node: JsonSchemaObject): JsonSchema[] =>
    Array.isArray(node.prefixItems)
      ? (node.prefixItems as JsonSchema[])
      : Array.isArray(node.items)
        ? (node.items as JsonSchema[])
        : [];
  const rest = (node: JsonSchemaObject): JsonSchema => {
    if (Array.isArray(node.items))
      return isSchema(node.additionalItems) ? node.additionalItems : true;
    return isSchema(node.items) ? node.items : true;
  };
  const rTuple = tuple(r);
  const wTuple = tuple(w);
  const length = Math.max(rTuple.length, wTuple.length);
  for (let i = 0; i < length; i++) {
    issues.push(...compare(rTuple[i] ?? rest(r), wTuple[i] ?? rest(w), `${path}[${i}]`, ctx));
  }
  issues.push(...compare(rest(r), rest(w), `${path}[]`, ctx));
  return issues;
}

function compareObjects(
  r: JsonSchemaObject,
  w: JsonSchemaObject,
  path: string,
  ctx: Context,
): Issue[] {
  const issues: Issue[] = [];
  const { reader, writer } = ctx.roles;
  const rProps = (isObject(r.properties) ? r.properties : {}) as Record<string, JsonSchema>;
  const wProps = (isObject(w.properties) ? w.properties : {}) as Record<string, JsonSchema>;
  const rRequired = new Set(Array.isArray(r.required) ? (r.required as string[]) : []);
  const wRequired = new Set(Array.isArray(w.required) ? (w.required as string[]) : []);
  const rAdditional: JsonSchema = isSchema(r.additionalProperties) ? r.additionalProperties : true;
  const wAdditional: JsonSchema = isSchema(w.additionalProperties) ? w.additionalProperties : true;

  for (const name of rRequired) {
    if (wRequired.has(name)) continue;
    const prop = rProps[name];
    if (typeof prop === 'object' && prop.default !== undefined) continue;
    issues.push(
      issue(
        child(path, name),
        'required-added',
        name in wProps
          ? `field "${name}" is optional in ${writer} but required by ${reader} (and has no default): ${writer} data may lack it`
          : `field "${name}" is required by ${reader} without a default, and ${writer} data ${wAdditional === false ? 'never has it' : 'may lack it'}`,
      ),
    );
  }

  for (const [name, wProp] of Object.entries(wProps)) {
    const rProp = rProps[name];
    if (rProp !== undefined) {
      issues.push(...compare(rProp, wProp, child(path, name), ctx));
    } else if (rAdditional === false) {
      issues.push(
        issue(
          child(path, name),
          'property-refused',
          `field "${name}" may appear in ${writer} data but ${reader} does not list it and forbids other fields (additionalProperties: false)`,
        ),
      );
    } else if (rAdditional !== true) {
      issues.push(...compare(rAdditional, wProp, child(path, name), ctx));
    }
  }

  if (wAdditional !== false && rAdditional !== true) {
    if (rAdditional === false) {
      issues.push(
        issue(
          path,
          'content-model-closed',
          `${reader} forbids fields it does not list (additionalProperties: false) but ${writer} allowed other fields`,
        ),
      );
    } else {
      issues.push(...compare(rAdditional, wAdditional, `${path}.*`, ctx));
    }
  }
  issues.push(...compareLengths(r, w, path, ctx, 'minProperties', 'maxProperties', 'objects'));
  return issues;
}

function child(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || isObject(value);
}

function issue(path: string, change: CompatibilityChange, message: string): Issue {
  return { path, change, message };
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
