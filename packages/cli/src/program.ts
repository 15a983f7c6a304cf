import { Command, CommanderError, Option } from 'commander';
import type { ReadAllFilter } from '@causewayjs/core';
import { CausewayError } from '@causewayjs/core';
import { CliUsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';
import {
  parseCount,
  parseExpectedRevision,
  parseJsonArgument,
  parseJsonObject,
  parsePositions,
} from './cli-arguments.js';
import { appendEvent } from './append-command.js';
import { readEvents } from './read-command.js';
import { tailEvents } from './tail-command.js';
import { loadBridgeConfig, runBridge, type BridgeConfig } from './bridge-command.js';
import { exportEvents } from './export-command.js';
import { ImportClock, importEvents } from './import-command.js';
import { storeStats } from './stats-command.js';
import { listParked, resolveParked } from './parked-command.js';
import { listProjections } from './projections-command.js';
import {
  checkSchema,
  listSchemas,
  parseCompatibility,
  readSchemaArgument,
  registerSchema,
} from './schema-command.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { openStoreContext, resolveStoreUrl, type StoreContext } from './store-context.js';
import type { Clock } from '@causewayjs/core';

/** Options every command takes. */
interface CommonOptions {
  store?: string;
  json?: boolean;
}

/** What extends the program with commands defined elsewhere (serve, demo, verify...). */
export type ProgramExtension = (program: Command, run: CommandRunner) => void;

/**
 * Runs a command's work with an open store: opens `--store`, calls `work`, closes the store,
 * and records the exit code. Errors are printed by {@link runCli}.
 */
export type CommandRunner = (
  options: CommonOptions,
  work: (context: StoreContext, json: boolean) => Promise<ExitCode | void>,
  storeOptions?: { clock?: Clock },
) => Promise<void>;

const filterOf = (o: { type?: string[]; prefix?: string }): ReadAllFilter | undefined =>
  o.type === undefined && o.prefix === undefined
    ? undefined
    : {
        ...(o.type === undefined ? {} : { types: o.type }),
        ...(o.prefix === undefined ? {} : { streamPrefix: o.prefix }),
      };

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
  state: { exitCode: ExitCode },
  extensions: readonly ProgramExtension[] = [],
): Command {
  const storeOption = () =>
    new Option(
      '--store <url>',
      'event store URL: sqlite:<file>, postgres://..., memory: (default: $CAUSEWAY_STORE or sqlite:./data/events.db)',
    );
  const jsonOption = () => new Option('--json', 'machine-readable JSON output');
  const program = new Command('causeway');
  program
    .description('Causeway: event sourcing, CQRS and event streaming. See docs/cli.md.')
    .exitOverride()
    // Options before a command are the program's, after it the command's own.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addOption(storeOption())
    .addOption(jsonOption())
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  const withCommon = (command: Command) => command.addOption(storeOption()).addOption(jsonOption());

  const run: CommandRunner = async (options, work, storeOptions) => {
    const globals = program.opts<CommonOptions>();
    const url = resolveStoreUrl(options.store ?? globals.store, io.env);
    const context = await openStoreContext(url, storeOptions);
    try {
      const code = await work(context, options.json === true || globals.json === true);
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
      ),
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
      },
    ) =>
      run(o, async (context, json) => {
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
      }),
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
      run(o, async (context, json) => {
        if (stream !== undefined && filterOf(o))
          throw new CliUsageError('--type and --prefix apply to the global log only');
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
            io.stderr.write(`stream "${stream}" has no events\n`);
            return ExitCode.NOT_FOUND;
          }
        }
      }),
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
      run(o, async (context, json) => {
        await tailEvents(context, io, {
          ...(o.from === undefined ? {} : { from: parseCount(o.from, '--from', 1) }),
          ...(filterOf(o) ? { filter: filterOf(o) } : {}),
          ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
          json,
        });
      }),
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
      run(o, async (context, json) => {
        await exportEvents(context, io, {
          ...(file === undefined ? {} : { file }),
          streams: o.streams,
          ...(o.from === undefined ? {} : { from: parseCount(o.from, '--from', 1) }),
          ...(filterOf(o) ? { filter: filterOf(o) } : {}),
          json,
        });
      }),
  );

  withCommon(
    program
      .command('import')
      .description('append the events of a JSONL export, keeping ids, revisions and times')
      .argument('<file>', 'JSONL file, or - for stdin')
      .option('--batch-size <n>', 'events per transaction', '500'),
  ).action(async (file: string, o: CommonOptions & { batchSize: string }) => {
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
    run(o, async (context, json) => {
      await storeStats(context, io, { json });
    }),
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
      run(o, async (context, json) => {
        await listParked(context, io, {
          ...(subscription === undefined ? {} : { subscription }),
          ...(o.after === undefined ? {} : { after: parseCount(o.after, '--after') }),
          ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
          json,
        });
      }),
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
    run(o, async (context, json) => {
      await listProjections(context, io, { json });
    }),
  );

  const schema = program.command('schema').description('the event schema registry');
  withCommon(
    schema.command('list').description('registered schemas').argument('[type]', 'one event type'),
  ).action(async (type: string | undefined, o: CommonOptions) =>
    run(o, async (context, json) => {
      await listSchemas(context, io, { ...(type === undefined ? {} : { type }), json });
    }),
  );
  withCommon(
    schema
      .command('register')
      .description('register a JSON Schema as the next version of an event type')
      .argument('<type>', 'event type')
      .argument('<schema>', 'JSON Schema: inline JSON, or a file path (optionally @file)')
      .option('--version <n>', 'the version it must get')
      .option('--compatibility <mode>', "set the type's compatibility mode"),
  ).action(
    async (
      type: string,
      source: string,
      o: CommonOptions & { version?: string; compatibility?: string },
    ) =>
      run(o, async (context, json) => {
        const compatibility = parseCompatibility(o.compatibility);
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
  const state = { exitCode: ExitCode.OK as ExitCode };
  const program = buildProgram(io, state, extensions);
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; everything else commander refuses is a usage error.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const code = exitCodeFor(error);
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
