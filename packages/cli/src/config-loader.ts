import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { CliConfigInvalidError, CliConfigNotFoundError } from './cli-errors.js';
import type { CausewayConfig } from './config.js';

/** The names a config file is looked up by in the working directory, in this order. */
export const CONFIG_FILE_NAMES = [
  'causeway.config.ts',
  'causeway.config.mts',
  'causeway.config.js',
  'causeway.config.mjs',
] as const;

/** A config file, loaded and checked. */
export interface LoadedConfig {
  /** The file's absolute path. */
  path: string;
  config: CausewayConfig;
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
const JAVASCRIPT = new Set(['.js', '.mjs', '.cjs']);

/**
 * The config file to use: `--config` (the option), else `CAUSEWAY_CONFIG`, else the first of
 * {@link CONFIG_FILE_NAMES} in `cwd`; undefined when none is named and none is there.
 *
 * @throws {CliConfigNotFoundError} when the file named does not exist.
 */
export function findConfigFile(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string | undefined {
  const fromEnv = env.CAUSEWAY_CONFIG;
  const named = option ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (named !== undefined) {
    const path = resolve(cwd, named);
    if (!existsSync(path)) throw new CliConfigNotFoundError(named);
    return path;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * Finds ({@link findConfigFile}) and loads the config: a TypeScript file through jiti, a
 * JavaScript module with `import()`; its default export is checked.
 *
 * @throws {CliConfigNotFoundError} when the file named does not exist.
 * @throws {CliConfigInvalidError} when it cannot be loaded or its default export is not a
 *   config.
 */
export async function loadCliConfig(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<LoadedConfig | undefined> {
  const path = findConfigFile(option, env, cwd);
  return path === undefined ? undefined : loadConfigFile(path);
}

/**
 * Loads the config file at `path` (absolute) and checks its default export.
 *
 * @throws {CliConfigInvalidError}
 */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  const extension = extname(path).toLowerCase();
  let exported: unknown;
  try {
    if (TYPESCRIPT.has(extension)) {
      const { createJiti } = await import('jiti');
      const jiti = createJiti(import.meta.url, { moduleCache: false });
      const module = await jiti.import<{ default?: unknown }>(path);
      // jiti answers `default` with the module itself when there is none: ask for the key.
      exported = Object.keys(module).includes('default') ? module.default : undefined;
    } else if (JAVASCRIPT.has(extension)) {
      exported = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
    } else {
      throw new CliConfigInvalidError(path, [
        `a config file is TypeScript or JavaScript (${CONFIG_FILE_NAMES.map(extname).join(', ')}), not "${extension || 'no extension'}"`,
      ]);
    }
  } catch (error) {
    if (error instanceof CliConfigInvalidError) throw error;
    throw new CliConfigInvalidError(
      path,
      [`it could not be loaded: ${error instanceof Error ? error.message : String(error)}`],
      error,
    );
  }
  if (exported === undefined || exported === null)
    throw new CliConfigInvalidError(path, [
      'it has no default export (export default defineConfig({ ... }))',
    ]);
  return { path, config: checkConfig(path, exported) };
}

const isFunction = (what: string) =>
  z.custom<(...args: never[]) => unknown>(
    (v) => typeof v === 'function',
    `${what} must be a function`,
  );
const eventTypes = z.array(z.string().min(1));

const projectionShape = z.looseObject({
  name: z.string().min(1),
  version: z.number().int().min(1),
  mode: z.enum(['inline', 'async']).optional(),
  handles: eventTypes,
  setup: isFunction('setup'),
  apply: isFunction('apply'),
});

const sagaShape = z.looseObject({
  name: z.string().min(1),
  startsWith: eventTypes.min(1),
  handles: eventTypes,
  correlate: isFunction('correlate'),
  start: isFunction('start'),
  initialStep: z.string().min(1),
});

const schemaShape = z.strictObject({
  type: z.string().min(1),
  schema: z.custom<object>(
    (v) => (typeof v === 'object' && v !== null) || typeof v === 'boolean',
    'schema must be a JSON Schema or a zod schema',
  ),
  version: z.number().int().min(1).optional(),
  compatibility: z.enum(['backward', 'forward', 'full', 'none']).optional(),
});

/** Names must be unique within a list: reports each repeated one. */
const uniqueNames =
  (key: 'name' | 'type') =>
  (items: readonly Record<string, unknown>[], context: z.RefinementCtx): void => {
    const seen = new Set<unknown>();
    items.forEach((item, index) => {
      if (seen.has(item[key]))
        context.addIssue({
          code: 'custom',
          path: [index, key],
          message: `"${String(item[key])}" is given twice`,
        });
      seen.add(item[key]);
    });
  };

const configShape = z.strictObject({
  store: z.string().min(1).optional(),
  projections: z.array(projectionShape).superRefine(uniqueNames('name')).optional(),
  sagas: z.array(sagaShape).superRefine(uniqueNames('name')).optional(),
  schemas: z.array(schemaShape).optional(),
});

/** `projections[0].name` from zod's `['projections', 0, 'name']`. */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

/**
 * Checks what a config file exports. The definitions are kept as given (the same objects,
 * functions and all); only their shape is checked here.
 *
 * @throws {CliConfigInvalidError} listing each problem with its path.
 */
export function checkConfig(path: string, exported: unknown): CausewayConfig {
  const result = configShape.safeParse(exported);
  if (!result.success)
    throw new CliConfigInvalidError(
      path,
      result.error.issues.map((issue) =>
        issue.path.length === 0 ? issue.message : `${pathText(issue.path)}: ${issue.message}`,
      ),
    );
  return exported as CausewayConfig;
}
