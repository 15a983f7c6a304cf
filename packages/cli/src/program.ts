import { Command, CommanderError, Option } from 'commander';
import type { Clock, ReadAllFilter } from '@causewayjs/core';
import type { BridgeConfig } from './bridge-command.js';
import type { CliIo } from './cli-io.js';
import type { LoadedConfig } from './config-loader.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import type { StoreContext } from './store-context.js';

// This module is what `causeway --help` loads: commander and small modules only. Each command
// loads its implementation (and with it the core, the drivers, the server) when it runs.
const args = () => import('./cli-arguments.js');
const usageError = async (message: string) =>
  new (await import('./cli-errors.js')).CliUsageError(message);

/** Options every command takes. */
interface CommonOptions {
  store?: string;
  json?: boolean;
  /** The config file (`--config`). */
  config?: string;
}

/** What extends the program with commands defined elsewhere (serve, demo, verify...). */
export type ProgramExtension = (program: Command, run: CommandRunner) => void;

/**
 * Runs a command's work with an open store: opens `--store`, calls `work`, closes the store,
 * and records the exit code. Errors are printed by {@link runCli}.
 */
export type CommandRunner = (
  options: CommonOptions,
  work: (
    context: StoreContext,
    json: boolean,
    config: LoadedConfig | undefined,
  ) => Promise<ExitCode | void>,
  storeOptions?: {
    clock?: Clock;
    /** The command only reads: a store that does not exist is refused, not created. */
    readOnly?: boolean;
    /** Stack the integrity layer: appends are linked into their streams' hash chains. */
    integrity?: false | { signingKey?: string; keyId?: string };
  },
) => Promise<void>;

const filterOf = (o: { type?: string[]; prefix?: string }): ReadAllFilter | undefined =>
  o.type === undefined && o.prefix === undefined
    ? undefined
    : {
        ...(o.type === undefined ? {} : { types: o.type }),
        ...(o.prefix === undefined ? {} : { streamPrefix: o.prefix }),
      };

/** `append --chain`: the integrity layer to stack, if asked for. */
async function integrityOf(o: {
  chain?: boolean;
  signingKey?: string;
  keyId?: string;
}): Promise<false | { signingKey?: string; keyId?: string }> {
  if (o.chain !== true) {
    if (o.signingKey !== undefined || o.keyId !== undefined)
      throw await usageError('--signing-key and --key-id go with --chain');
    return false;
  }
  if (o.keyId !== undefined && o.signingKey === undefined)
    throw await usageError('--key-id goes with --signing-key');
  if (o.signingKey === undefined) return {};
  const { readFile } = await import('node:fs/promises');
  let signingKey: string;
  try {
    signingKey = await readFile(o.signingKey, 'utf8');
  } catch {
    throw await usageError(`cannot read the signing key file "${o.signingKey}"`);
  }
  return { signingKey, ...(o.keyId === undefined ? {} : { keyId: o.keyId }) };
}

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/**
 * Builds the `causeway` program, writing to `io`. Commands record their exit code in
 * `state.exitCode`; extensions add commands (`serve`, `demo`, `sagas`, `verify`).
 */
export function buildProgram(
  io: CliIo,
  state: { exitCode: ExitCode; json?: boolean },
  extensions: readonly ProgramExtension[] = [],
): Command {
  const storeOption = () =>
    new Option(
      '--store <url>',
      'event store URL: sqlite:<file>, postgres://..., memory: (default: $CAUSEWAY_STORE or sqlite:./data/events.db)',
    );
  const jsonOption = () => new Option('--json', 'machine-readable JSON output');
  const configOption = () =>
    new Option(
      '--config <file>',
      'config file naming the store, projections, sagas and schemas (default: $CAUSEWAY_CONFIG or ./causeway.config.{ts,mts,js,mjs})',
    );
  const program = new Command('causeway');
  program
    .description(
      'Causeway: event sourcing, CQRS and event streaming. Manual: https://github.com/causewayjs/causeway/blob/main/docs/cli.md',
    )
    .exitOverride()
    // Options before a command are the program's, after it the command's own.
    .enablePositionalOptions()
    // With --json, a refused command line is reported as the JSON error object alone.
    .showHelpAfterError(state.json === true ? false : '(run with --help for usage)')
    .addOption(storeOption())
    .addOption(jsonOption())
    .addOption(configOption())
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => {
        if (state.json !== true) write(s);
      },
    });

  const withCommon = (command: Command) => command.addOption(storeOption()).addOption(jsonOption());

  const run: CommandRunner = async (options, work, storeOptions) => {
    const globals = program.opts<CommonOptions>();
    const [{ loadCliConfig }, { openStoreContext, resolveStoreUrl }] = await Promise.all([
      import('./config-loader.js'),
      import('./store-context.js'),
    ]);
    const config = await loadCliConfig(
      options.config ?? globals.config,
      io.env,
      io.cwd ?? process.cwd(),
    );
    const url = resolveStoreUrl(options.store ?? globals.store, io.env, config?.config.store);
    const context = await openStoreContext(url, storeOptions);
    try {
      const code = await work(context, options.json === true || globals.json === true, config);
      state.exitCode = code ?? (io.signal.aborted ? ExitCode.INTERRUPTED : ExitCode.OK);
    } finally {
      await context.close();
    }
  };

  withCommon(
    program
      .command('append')
      .description('append one event to a stream')
      .argument('<stream>', 'stream name, e.g. order-42')
      .argument('<type>', 'event type, e.g. order.placed')
      .argument('[data]', 'event data as JSON', '{}')
      .option('--metadata <json>', 'metadata as a JSON object')
      .option('--id <uuid>', 'event id (makes a retry idempotent)')
      .option('--schema-version <n>', 'schema version of the data')
      .option(
        '--expected-revision <rev>',
        'any, no_stream, stream_exists or the revision of the last event',
        'any',
      )
      .option('--chain', "link the event into its stream's hash chain (see causeway verify)")
      .option('--signing-key <file>', 'with --chain: Ed25519 private key (PEM) signing the link')
      .option('--key-id <id>', 'with --signing-key: key id recorded with the signature'),
  ).action(
    async (
      stream: string,
      type: string,
      data: string,
      o: CommonOptions & {
        metadata?: string;
        id?: string;
        schemaVersion?: string;
        expectedRevision: string;
        chain?: boolean;
        signingKey?: string;
        keyId?: string;
      },
    ) =>
      run(
        o,
        async (context, json) => {
          const { appendEvent } = await import('./append-command.js');
          const { parseCount, parseExpectedRevision, parseJsonArgument, parseJsonObject } =
            await args();
          await appendEvent(context, io, {
            stream,
            type,
            data: parseJsonArgument(data, 'the event data'),
            ...(o.metadata === undefined
              ? {}
              : { metadata: parseJsonObject(o.metadata, '--metadata') }),
            ...(o.id === undefined ? {} : { id: o.id }),
            ...(o.schemaVersion === undefined
              ? {}
              : { schemaVersion: parseCount(o.schemaVersion, '--schema-version', 1) }),
            expectedRevision: parseExpectedRevision(o.expectedRevision),
            json,
          });
        },
        { integrity: await integrityOf(o) },
      ),
  );

  withCommon(
    program
      .command('read')
      .description('read a stream, or the global log when no stream is given')
      .argument('[stream]', 'stream name (omit for the global log)')
      .option('--from <n>', 'first revision (stream) or position (log)')
      .option('--backward', 'newest first')
      .option('--limit <n>', 'at most this many events')
      .option('--type <type>', 'log only: only this event type (repeatable)', collect)
      .option('--prefix <prefix>', 'log only: only streams starting with this'),
  ).action(
    async (
      stream: string | undefined,
      o: CommonOptions & {
        from?: string;
        backward?: boolean;
        limit?: string;
        type?: string[];
        prefix?: string;
      },
    ) =>
      run(
        o,
        async (context, json) => {
          if (stream !== undefined && filterOf(o))
            throw await usageError('--type and --prefix apply to the global log only');
          const { readEvents } = await import('./read-command.js');
          const { parseCount } = await args();
          const shown = await readEvents(context, io, {
            ...(stream === undefined ? {} : { stream }),
            ...(o.from === undefined ? {} : { from: parseCount(o.from, '--from') }),
            backward: o.backward === true,
            ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
            ...(filterOf(o) ? { filter: filterOf(o) } : {}),
            json,
          });
          if (stream !== undefined && shown === 0) {
            const info = await context.store.streamInfo(stream);
            if (!info.exists) {
              const { CliNotFoundError } = await import('./cli-errors.js');
              throw new CliNotFoundError('stream', stream, `stream "${stream}" has no events`);
            }
          }
        },
        { readOnly: true },
      ),
  );

  withCommon(
    program
      .command('tail')
      .description('follow the global log live (Ctrl-C to stop)')
      .option('--from <position>', 'start at this position (default: new events only)')
      .option('--type <type>', 'only this event type (repeatable)', collect)
      .option('--prefix <prefix>', 'only streams starting with this')
      .option('--limit <n>', 'stop after this many events'),
  ).action(
    async (
      o: CommonOptions & { from?: string; type?: string[]; prefix?: string; limit?: string },
    ) =>
      run(
        o,
        async (context, json) => {
          const { tailEvents } = await import('./tail-command.js');
          const { parseCount } = await args();
          await tailEvents(context, io, {
            ...(o.from === undefined ? {} : { from: parseCount(o.from, '--from', 1) }),
            ...(filterOf(o) ? { filter: filterOf(o) } : {}),
            ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
            json,
          });
        },
        { readOnly: true },
      ),
  );

  withCommon(
    program
      .command('export')
      .description('write events as JSON lines, in position order (backup, migration)')
      .argument('[file]', 'output file (default: stdout)')
      .option('--from <position>', 'first position')
      .option('--type <type>', 'only this event type (repeatable)', collect)
      .option('--prefix <prefix>', 'only streams starting with this')
      .option('--no-streams', 'events only: leave out the stream-state lines'),
  ).action(
    async (
      file: string | undefined,
      o: CommonOptions & { from?: string; type?: string[]; prefix?: string; streams: boolean },
    ) =>
      run(
        o,
        async (context, json) => {
          const { exportEvents } = await import('./export-command.js');
          const { parseCount } = await args();
          await exportEvents(context, io, {
            ...(file === undefined ? {} : { file }),
            streams: o.streams,
            ...(o.from === undefined ? {} : { from: parseCount(o.from, '--from', 1) }),
            ...(filterOf(o) ? { filter: filterOf(o) } : {}),
            json,
          });
        },
        { readOnly: true },
      ),
  );

  withCommon(
    program
      .command('import')
      .description('append the events of a JSONL export, keeping ids, revisions and times')
      .argument('<file>', 'JSONL file, or - for stdin')
      .option('--batch-size <n>', 'events per transaction', '500'),
  ).action(async (file: string, o: CommonOptions & { batchSize: string }) => {
    const { ImportClock, importEvents } = await import('./import-command.js');
    const { parseCount } = await args();
    const clock = new ImportClock();
    await run(
      o,
      async (context, json) => {
        await importEvents(context, io, {
          file,
          batchSize: parseCount(o.batchSize, '--batch-size', 1),
          clock,
          json,
        });
      },
      { clock },
    );
  });

  withCommon(
    program.command('stats').description('events by type and category, subscriptions and lag'),
  ).action(async (o: CommonOptions) =>
    run(
      o,
      async (context, json) => {
        const { storeStats } = await import('./stats-command.js');
        await storeStats(context, io, { json });
      },
      { readOnly: true },
    ),
  );

  program
    .command('bridge')
    .description('carry events from one store into another, translated (see docs/federation.md)')
    .requiredOption(
      '--from <url>',
      'source store URL (its checkpoint and parked events live there)',
    )
    .requiredOption('--to <url>', 'target store URL (validated against its schema registry)')
    .option('--config <file>', 'bridge configuration: JSON, or a .js/.mjs module')
    .option('--name <name>', 'the bridge name (default: the config name, else "bridge")')
    .option('--once', 'stop once every event committed before the start is carried over')
    .addOption(jsonOption())
    .action(
      async (o: {
        from: string;
        to: string;
        config?: string;
        name?: string;
        once?: boolean;
        json?: boolean;
      }) => {
        const { loadBridgeConfig, runBridge } = await import('./bridge-command.js');
        const { openStoreContext } = await import('./store-context.js');
        const loaded: BridgeConfig = o.config === undefined ? {} : await loadBridgeConfig(o.config);
        const config = o.name === undefined ? loaded : { ...loaded, name: o.name };
        await run({ store: o.from, json: o.json }, async (from, json) => {
          const to = await openStoreContext(o.to);
          try {
            await runBridge(from, to, io, { config, once: o.once === true, json });
          } finally {
            await to.close();
          }
        });
      },
    );

  const parked = program.command('parked').description('events set aside by subscriptions');
  withCommon(
    parked
      .command('list')
      .description("subscriptions with parked events, or one subscription's parked events")
      .argument('[subscription]', 'subscription name, e.g. projection:order-history:v1')
      .option('--after <position>', 'only after this position')
      .option('--limit <n>', 'at most this many'),
  ).action(
    async (
      subscription: string | undefined,
      o: CommonOptions & { after?: string; limit?: string },
    ) =>
      run(
        o,
        async (context, json) => {
          const { listParked } = await import('./parked-command.js');
          const { parseCount } = await args();
          await listParked(context, io, {
            ...(subscription === undefined ? {} : { subscription }),
            ...(o.after === undefined ? {} : { after: parseCount(o.after, '--after') }),
            ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
            json,
          });
        },
        { readOnly: true },
      ),
  );
  for (const action of ['retry', 'skip'] as const) {
    withCommon(
      parked
        .command(action)
        .description(
          action === 'retry'
            ? 'hand parked events back to their subscription'
            : 'drop parked events without handling them',
        )
        .argument('<subscription>', 'subscription name')
        .argument('[positions...]', 'positions of the parked events')
        .option('--all', 'every parked event of the subscription'),
    ).action(
      async (subscription: string, positions: string[], o: CommonOptions & { all?: boolean }) =>
        run(o, async (context, json) => {
          const { resolveParked } = await import('./parked-command.js');
          const { parsePositions } = await args();
          await resolveParked(context, io, action, {
            subscription,
            positions: parsePositions(positions),
            all: o.all === true,
            json,
          });
        }),
    );
  }

  const projections = program.command('projections').description('read models and their builds');
  withCommon(
    projections.command('list').description('registered projection builds, position, lag, parked'),
  ).action(async (o: CommonOptions) =>
    run(
      o,
      async (context, json, config) => {
        const { listProjections } = await import('./projections-command.js');
        await listProjections(context, io, {
          json,
          ...(config?.config.projections ? { defined: config.config.projections } : {}),
        });
      },
      { readOnly: true },
    ),
  );
  withCommon(
    projections
      .command('status')
      .description("the config's projections: defined version, serving build, position, lag")
      .argument('[name]', 'only this projection'),
  ).action(async (name: string | undefined, o: CommonOptions) =>
    run(
      o,
      async (context, json, config) => {
        const { projectionStatus } = await import('./projections-command.js');
        const { projectionsOf } = await import('./project-definitions.js');
        await projectionStatus(context, io, {
          projections: await projectionsOf(config),
          ...(name === undefined ? {} : { name }),
          json,
        });
      },
      { readOnly: true },
    ),
  );

  const schema = program.command('schema').description('the event schema registry');
  withCommon(
    schema.command('list').description('registered schemas').argument('[type]', 'one event type'),
  ).action(async (type: string | undefined, o: CommonOptions) =>
    run(
      o,
      async (context, json) => {
        const { listSchemas } = await import('./schema-command.js');
        await listSchemas(context, io, { ...(type === undefined ? {} : { type }), json });
      },
      { readOnly: true },
    ),
  );
  withCommon(
    schema
      .command('register')
      .description(
        "register a JSON Schema as the next version of an event type (no arguments: the config's schemas)",
      )
      .argument('[type]', 'event type')
      .argument('[schema]', 'JSON Schema: inline JSON, or a file path (optionally @file)')
      .option('--version <n>', 'the version it must get')
      .option('--compatibility <mode>', "set the type's compatibility mode"),
  ).action(
    async (
      type: string | undefined,
      source: string | undefined,
      o: CommonOptions & { version?: string; compatibility?: string },
    ) =>
      run(o, async (context, json, config) => {
        const { parseCompatibility, readSchemaArgument, registerConfigSchemas, registerSchema } =
          await import('./schema-command.js');
        const { parseCount } = await args();
        const compatibility = parseCompatibility(o.compatibility);
        if (type === undefined) {
          if (o.version !== undefined || compatibility !== undefined)
            throw await usageError(
              "--version and --compatibility go with a type and a schema; the config's schemas carry their own",
            );
          await registerConfigSchemas(context, io, { config, json });
          return;
        }
        if (source === undefined) throw await usageError(`give the schema of ${type}`);
        await registerSchema(context, io, {
          type,
          schema: readSchemaArgument(source),
          ...(o.version === undefined ? {} : { version: parseCount(o.version, '--version', 1) }),
          ...(compatibility === undefined ? {} : { compatibility }),
          json,
        });
      }),
  );
  withCommon(
    schema
      .command('check')
      .description('would this schema be accepted? (exit 3 when incompatible)')
      .argument('<type>', 'event type')
      .argument('<schema>', 'JSON Schema: inline JSON, or a file path (optionally @file)')
      .option('--compatibility <mode>', "check under this mode instead of the type's"),
  ).action(async (type: string, source: string, o: CommonOptions & { compatibility?: string }) =>
    run(o, async (context, json) => {
      const { checkSchema, parseCompatibility, readSchemaArgument } =
        await import('./schema-command.js');
      const compatibility = parseCompatibility(o.compatibility);
      await checkSchema(context, io, {
        type,
        schema: readSchemaArgument(source),
        ...(compatibility === undefined ? {} : { compatibility }),
        json,
      });
    }),
  );

  for (const extend of extensions) extend(program, run);
  // Every command that opens a store takes the config file too (`bridge` has its own --config).
  const addConfig = (command: Command): void => {
    const has = (flag: string) => command.options.some((option) => option.long === flag);
    if (command !== program && has('--store') && !has('--config'))
      command.addOption(configOption());
    command.commands.forEach(addConfig);
  };
  addConfig(program);
  return program;
}

/**
 * Runs the `causeway` command line (`argv` without the node and script paths) and returns its
 * exit code. Errors are printed on stderr (as `{ "error": { code, message } }` with `--json`).
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  extensions: readonly ProgramExtension[] = [],
): Promise<ExitCode> {
  const json = argv.includes('--json');
  const state = { exitCode: ExitCode.OK as ExitCode, json };
  const program = buildProgram(io, state, extensions);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; everything else commander refuses is a usage error. Commander
      // has printed its message; with --json the error object follows, as for every error.
      if (error.exitCode === 0) return ExitCode.OK;
      if (json)
        io.stderr.write(
          `${JSON.stringify({ error: { code: 'CLI_USAGE', message: error.message.replace(/^error: /, ''), exitCode: ExitCode.USAGE } }, null, 2)}\n`,
        );
      return ExitCode.USAGE;
    }
    const code = exitCodeFor(error);
    const { CausewayError } = await import('@causewayjs/core');
    if (json) {
      const body: Record<string, unknown> = {
        code: error instanceof CausewayError ? error.code : 'INTERNAL',
        message: error instanceof Error ? error.message : String(error),
        exitCode: code,
      };
      const imported = (error as { imported?: unknown }).imported;
      if (imported !== undefined) body.imported = imported;
      io.stderr.write(`${JSON.stringify({ error: body }, null, 2)}\n`);
    } else {
      const message = error instanceof Error ? error.message : String(error);
      const prefix = error instanceof CausewayError ? `${error.code}: ` : '';
      io.stderr.write(`causeway: ${prefix}${message}\n`);
      const imported = (error as { imported?: { events: number; lastLine: number } }).imported;
      if (imported)
        io.stderr.write(
          `causeway: ${imported.events} events up to line ${imported.lastLine} were committed before the error; fix the file and run the import again (committed events are skipped)\n`,
        );
      if (
        code === ExitCode.FAILURE &&
        error instanceof Error &&
        error.stack &&
        io.env.CAUSEWAY_DEBUG
      )
        io.stderr.write(`${error.stack}\n`);
    }
    return code;
  }
}
