import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  contextMap,
  type EventMapping,
  InvalidTranslationError,
  StoreBridge,
  type StoreBridgeStatus,
  type Translation,
  composeTranslations,
  identityTranslation,
  renameTypes,
  type ReadAllFilter,
} from '@causewayjs/core';
import { CliInputError, CliNotFoundError } from './cli-errors.js';
import { type CliIo, printJsonLine, printLine } from './cli-io.js';
import type { StoreContext } from './store-context.js';

/** A bridge's configuration, as `causeway bridge --config <file>` reads it. */
export interface BridgeConfig {
  /** Names the bridge's checkpoint, lease and parked events in the source (default `bridge`). */
  name?: string;
  /** The source's identity in the target's event ids (default: `name`). */
  sourceId?: string;
  filter?: ReadAllFilter;
  batchSize?: number;
  /** Type renames, applied before `map`. */
  rename?: Record<string, string>;
  /** The context map: source type → target event(s) (see `contextMap`). */
  map?: Record<string, EventMapping | EventMapping[]>;
  /** Types `map` does not name: `'drop'` (default with a map) or `'keep'`. */
  otherwise?: 'drop' | 'keep';
  /** A translation function (a `.js`/`.mjs` config only), applied after `map`. */
  translation?: Translation;
}

const mappingSchema = z
  .object({
    type: z.string().min(1).optional(),
    stream: z.string().min(1).optional(),
    fields: z.record(z.string(), z.string().min(1)).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    schemaVersion: z.number().int().positive().optional(),
  })
  .strict();

const configSchema = z
  .object({
    name: z.string().min(1).optional(),
    sourceId: z.string().min(1).optional(),
    filter: z
      .object({
        types: z.array(z.string().min(1)).optional(),
        streamPrefix: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    batchSize: z.number().int().min(1).max(1000).optional(),
    rename: z.record(z.string(), z.string().min(1)).optional(),
    map: z.record(z.string(), z.union([mappingSchema, z.array(mappingSchema)])).optional(),
    otherwise: z.enum(['drop', 'keep']).optional(),
    translation: z.function().optional(),
  })
  .strict();

/**
 * Reads a bridge configuration: a JSON file, or a JavaScript module (`.js`, `.mjs`) whose
 * default export is the configuration (it may then give `translation` as a function).
 *
 * @throws {CliNotFoundError} when the file does not exist.
 * @throws {CliInputError} when it is not valid JSON or not a bridge configuration.
 */
export async function loadBridgeConfig(file: string): Promise<BridgeConfig> {
  const path = resolve(file);
  let raw: unknown;
  const ext = extname(path);
  try {
    if (ext === '.js' || ext === '.mjs')
      raw = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
    else raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if (
      (error as { code?: unknown }).code === 'ENOENT' ||
      (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND'
    )
      throw new CliNotFoundError('bridge config file', file);
    throw new CliInputError(`bridge config ${file}: ${(error as Error).message}`, undefined, error);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.join('.') || '(top)';
    throw new CliInputError(`bridge config ${file}: ${at}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data as BridgeConfig;
}

/** The translation a configuration describes: renames, then the map, then the function. */
export function configTranslation(config: BridgeConfig): Translation {
  const steps: Translation[] = [];
  if (config.rename) steps.push(renameTypes(config.rename));
  if (config.map) steps.push(contextMap(config.map, { otherwise: config.otherwise ?? 'drop' }));
  else if (config.otherwise === 'drop')
    throw new InvalidTranslationError('otherwise', "'drop' needs a map of the types to keep");
  if (config.translation) steps.push(config.translation);
  return steps.length === 0 ? identityTranslation : composeTranslations(...steps);
}

/** Options of {@link runBridge}. */
export interface RunBridgeOptions {
  config: BridgeConfig;
  /** Stop once caught up with the source's head as it was at start (default: run until interrupted). */
  once?: boolean;
  json?: boolean;
}

/**
 * Runs a {@link StoreBridge} from `from` into `to` until interrupted (or, with `once`, until
 * it has carried over every event committed before it started), printing its status as it
 * changes: position, what it wrote, what it parked. Returns the final status.
 */
export async function runBridge(
  from: StoreContext,
  to: StoreContext,
  io: CliIo,
  options: RunBridgeOptions,
): Promise<StoreBridgeStatus> {
  const { config } = options;
  const bridge = new StoreBridge({
    name: config.name ?? 'bridge',
    source: await from.subscriptionStorage(),
    target: to.store,
    translation: configTranslation(config),
    ...(config.sourceId === undefined ? {} : { sourceId: config.sourceId }),
    ...(config.filter === undefined ? {} : { filter: config.filter }),
    ...(config.batchSize === undefined ? {} : { batchSize: config.batchSize }),
    // A bridge killed before leaves its lease: wait for it rather than fail.
    lease: { wait: true },
  });
  const report = (status: StoreBridgeStatus, parked?: number) => {
    const line = {
      name: status.name,
      state: status.state,
      position: status.position,
      translated: status.translated,
      written: status.written,
      dropped: status.dropped,
      translationFailures: status.translationFailures,
      ...(parked === undefined ? {} : { parked }),
    };
    if (options.json) printJsonLine(io, line);
    else
      printLine(
        io,
        `${line.name} ${line.state} at ${line.position}: ${line.written} written, ${line.dropped} dropped, ${line.translationFailures} failed translations` +
          (parked ? `, ${parked} parked (causeway parked list ${line.name})` : ''),
      );
  };
  // Every change of state, and every thousand positions while behind.
  let shown = '';
  const unlisten = bridge.onStatus((status) => {
    const step = status.lag > 0 ? Math.floor(status.position / 1000) : status.position;
    const key = `${status.state}:${step}`;
    if (key !== shown) {
      shown = key;
      report(status);
    }
  });
  const head = await from.store.headPosition();
  await bridge.start();
  try {
    if (options.once) {
      await bridge.waitForPosition(head, { timeoutMs: 24 * 3600_000 });
    } else if (!io.signal.aborted) {
      await new Promise<void>((done) => {
        io.signal.addEventListener('abort', () => done(), { once: true });
        const stopListening = bridge.onStatus((s) => {
          if (s.state !== 'stopped') return;
          stopListening();
          done();
        });
      });
    }
  } finally {
    unlisten();
    await bridge.stop();
  }
  const final = bridge.status;
  report(final, await bridge.parkedCount());
  if (final.error) throw final.error;
  return final;
}
