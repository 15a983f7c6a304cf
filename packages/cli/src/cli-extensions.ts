import { Command, Option } from 'commander';
import type { CliIo } from './cli-io.js';
import { ExitCode } from './exit-codes.js';
import type { CommandRunner, ProgramExtension } from './program.js';
import type { ShopFlags } from './shop-flags.js';
import type { SensorsFlags } from './sensors-command.js';
import type { StoreContext } from './store-context.js';

// Like program.ts, this module only declares commands: each action loads what it runs.
const args = () => import('./cli-arguments.js');

const storeOption = () =>
  new Option(
    '--store <url>',
    'event store URL (default: $CAUSEWAY_STORE or sqlite:./data/events.db)',
  );
const jsonOption = () => new Option('--json', 'machine-readable JSON output');

function addShopOptions(command: Command, defaultPort: string): Command {
  return command
    .addOption(storeOption())
    .addOption(new Option('--json', 'status as JSON lines'))
    .option('--port <n>', 'HTTP port (0: any free port)', defaultPort)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--orders <n>', 'stop after this many orders, once they have settled')
    .option('--duration <seconds>', 'stop the traffic after this long, then settle and exit')
    .option('--payment-failure-rate <share>', 'share of payments declined (0 to 1)', '0.1')
    .option('--payment-timeout <seconds>', 'payment answer timeout of the fulfilment saga', '30')
    .option('--seed <n>', 'seed of the traffic generator')
    .option('--member-id <id>', 'this process in the consumer groups')
    .option(
      '--bus <url>',
      'NATS URL: events out to JetStream, commands over request/reply (nats://127.0.0.1:4222)',
    )
    .option('--log-level <level>', 'pino level of logs on stderr', 'warn')
    .option('--status-every <seconds>', 'print a status line this often (0: never)', '5');
}

/**
 * The `verify` command, run with the program's store handling (`--store`, `--json`).
 *
 * @example
 * ```sh
 * causeway verify --store postgres://app@db/shop           # whole store
 * causeway verify order-42 --json --public-key signing.pub # one stream, signatures required
 * causeway verify --export-heads heads.json                # keep the heads somewhere else...
 * causeway verify --expect-heads heads.json                # ...and find a rollback behind them
 * ```
 */
export function verifyCommand(io: CliIo, run: CommandRunner): Command {
  return new Command('verify')
    .description(
      'check the hash chains of a stream or the whole store; report the first broken link',
    )
    .argument('[stream]', 'only this stream')
    .addOption(storeOption())
    .addOption(jsonOption())
    .addOption(
      new Option('--public-key <file>', 'Ed25519 public key (PEM): require valid signatures'),
    )
    .addOption(new Option('--require-anchors', 'a chained stream without a head anchor is a fault'))
    .addOption(
      new Option(
        '--require-chain',
        'a stream written without hash chains is a fault (default: reported as unchained)',
      ),
    )
    .addOption(
      new Option(
        '--expect-heads <file>',
        'head list from an earlier --export-heads: each head must still be in the store',
      ),
    )
    .addOption(
      new Option(
        '--export-heads <file>',
        'when every chain holds, write the (signed) head of every stream to this file',
      ),
    )
    .action(
      async (
        stream: string | undefined,
        o: {
          store?: string;
          json?: boolean;
          config?: string;
          publicKey?: string;
          requireAnchors?: boolean;
          requireChain?: boolean;
          expectHeads?: string;
          exportHeads?: string;
        },
      ) =>
        run(
          {
            ...(o.store !== undefined ? { store: o.store } : {}),
            ...(o.config !== undefined ? { config: o.config } : {}),
            json: o.json === true,
          },
          async (context, json) => {
            const { verifyEvents } = await import('./verify-command.js');
            const { undecorated } = await import('@causewayjs/core');
            // The chains cover the events as stored, below any layer that changes them on read.
            return verifyEvents(undecorated(context.store), io, {
              ...(stream !== undefined ? { stream } : {}),
              json,
              ...(o.publicKey !== undefined ? { publicKey: o.publicKey } : {}),
              anchors: await context.chainAnchorStore(),
              ...(o.requireAnchors === true ? { requireAnchors: true } : {}),
              ...(o.requireChain === true ? { requireChain: true } : {}),
              ...(o.expectHeads !== undefined ? { expectHeads: o.expectHeads } : {}),
              ...(o.exportHeads !== undefined ? { exportHeads: o.exportHeads } : {}),
            });
          },
          { readOnly: true },
        ),
    );
}

/** Adds `verify` to the `causeway` program (for `cliExtensions`). */
export function verifyExtension(io: CliIo): ProgramExtension {
  return (program, run) => {
    program.addCommand(verifyCommand(io, run));
  };
}

/**
 * The `scavenge` command, run with the program's store handling (`--store`, `--json`).
 *
 * @example
 * ```sh
 * causeway scavenge --store sqlite:./data/events.db --dry-run
 * causeway scavenge --store postgres://app@db/shop --batch-size 500 --json
 * causeway scavenge --store postgres://app@db/shop --signing-key signing.pem --key-id k1
 * ```
 */
export function scavengeCommand(io: CliIo, run: CommandRunner): Command {
  return new Command('scavenge')
    .description(
      'remove for good the events reads no longer show (deleted streams, truncateBefore, maxCount, maxAge)',
    )
    .addOption(storeOption())
    .addOption(jsonOption())
    .option('--batch-size <n>', 'most events removed per transaction', '1000')
    .option('--dry-run', 'count what would be removed, remove nothing')
    .option('--vacuum', 'SQLite: also VACUUM so the file shrinks (rewrites the file)')
    .option(
      '--signing-key <file>',
      'Ed25519 private key (PEM) signing the hash chains: the chain starts recorded are signed with it (required when the anchors are signed)',
    )
    .option('--key-id <id>', 'key id recorded with those signatures')
    .action(
      async (o: {
        store?: string;
        json?: boolean;
        config?: string;
        batchSize: string;
        dryRun?: boolean;
        vacuum?: boolean;
        signingKey?: string;
        keyId?: string;
      }) => {
        const batchSize = (await args()).parseCount(o.batchSize, '--batch-size', 1);
        await run(
          {
            ...(o.store !== undefined ? { store: o.store } : {}),
            ...(o.config !== undefined ? { config: o.config } : {}),
            json: o.json === true,
          },
          async (context, json) =>
            (await import('./scavenge-command.js')).scavengeStore(context, io, {
              batchSize,
              dryRun: o.dryRun === true,
              vacuum: o.vacuum === true,
              json,
              ...(o.signingKey !== undefined ? { signingKey: o.signingKey } : {}),
              ...(o.keyId !== undefined ? { keyId: o.keyId } : {}),
            }),
        );
      },
    );
}

/** `causeway sensors`: the smart-city sensor-platform example. */
function sensorsCommand(io: CliIo, run: CommandRunner): Command {
  return new Command('sensors')
    .description(
      'run the sensor-platform example: simulated sensors over MQTT, stream analytics, alerts',
    )
    .addOption(storeOption())
    .addOption(new Option('--json', 'status as JSON lines'))
    .option('--mqtt <url>', 'MQTT broker (default: $CAUSEWAY_MQTT_URL or mqtt://127.0.0.1:1883)')
    .option('--topic-prefix <prefix>', 'first level of every topic', 'causeway')
    .option('--sensors <n>', 'simulated sensors (0: none, only listen)', '5')
    .option('--seed <n>', 'seed of the simulation', '1')
    .option('--interval <seconds>', 'time between two readings of a sensor', '1')
    .option('--duration <seconds>', 'simulate this long, then catch up and exit')
    .option('--port <n>', 'HTTP port of the API and admin UI (0: any free port)', '3000')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--no-serve', 'no HTTP server')
    .option(
      '--session-expiry <seconds>',
      "how long the broker keeps the ingest's session while it is away (default 7 days)",
    )
    .option('--log-level <level>', 'pino level of logs on stderr', 'warn')
    .option('--status-every <seconds>', 'print a status line this often (0: never)', '5')
    .action(async (o: SensorsFlags) =>
      run(o, async (context) =>
        (await import('./sensors-command.js')).runSensorsFromFlags(context, io, o),
      ),
    );
}

/** `serve`'s own flags, beside the shop's. */
interface ServeFlags extends ShopFlags {
  config?: string;
  shop?: boolean;
  security?: string;
  tlsCert?: string;
  tlsKey?: string;
  hstsMaxAge?: string;
  allowInsecure?: boolean;
}

/**
 * The commands beyond the core set: `verify`, `scavenge`, `sensors`, `serve`, `demo`,
 * `projections rebuild`, `rebuild`, `sagas status|list|show|parked|retry|skip`.
 * They load the server, the shop and the user's config only when run.
 */
export function cliExtensions(io: CliIo): ProgramExtension[] {
  return [
    verifyExtension(io),
    (program, run) => {
      program.addCommand(scavengeCommand(io, run));
      program.addCommand(sensorsCommand(io, run));
    },
    (program, run) => {
      addShopOptions(
        program
          .command('demo')
          .description('run the shop example: server, admin UI, projections, saga, traffic'),
        '3000',
      )
        .option('--rate <orders/s>', 'orders per second of the traffic generator', '2')
        .action(async (o: ShopFlags) =>
          run(o, async (context) => {
            const { runShop } = await import('./demo-command.js');
            const { shopOptions } = await import('./shop-flags.js');
            return runShop(context, io, shopOptions(o, 2));
          }),
        );

      addShopOptions(
        program
          .command('serve')
          .description(
            "serve the HTTP API and admin UI over a store, with the config's projections, sagas and schemas (with --shop: run the shop too)",
          ),
        '3000',
      )
        .option('--shop', "also run the shop's handlers, projections, saga and consumer groups")
        .option('--rate <orders/s>', 'with --shop: orders per second of traffic (default 0)')
        .option('--security <file>', 'JSON security config: API keys, JWT, access rules')
        .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (with --tls-key)')
        .option('--tls-key <file>', 'PEM private key of --tls-cert')
        .option(
          '--hsts-max-age <seconds>',
          'with TLS: max-age of the Strict-Transport-Security header (default one year)',
        )
        .option('--allow-insecure', 'allow a non-loopback --host without --security')
        .action(async (o: ServeFlags) =>
          run(o, async (context, _json, config) => {
            const { parseCount } = await args();
            if (o.shop === true) {
              const { runShop } = await import('./demo-command.js');
              const { refuseServerFlagsWithShop, shopOptions } = await import('./shop-flags.js');
              return runShop(context, io, shopOptions(o, refuseServerFlagsWithShop(o)));
            }
            const { serveStore } = await import('./serve-command.js');
            return serveStore(context, io, {
              port: parseCount(o.port, '--port'),
              host: o.host,
              json: o.json === true,
              securityFile: o.security,
              tlsCert: o.tlsCert,
              tlsKey: o.tlsKey,
              hstsMaxAgeSeconds:
                o.hstsMaxAge === undefined ? undefined : parseCount(o.hstsMaxAge, '--hsts-max-age'),
              allowInsecure: o.allowInsecure,
              logLevel: o.logLevel,
              ...(config === undefined ? {} : { project: config.config }),
            });
          }),
        );

      const rebuild = async (
        name: string,
        o: { store?: string; json?: boolean; config?: string },
      ) =>
        run(o, async (context, json, config) => {
          const { rebuildProjection } = await import('./rebuild-command.js');
          const { projectionsOf } = await import('./project-definitions.js');
          await rebuildProjection(context, io, {
            name,
            projections: await projectionsOf(config),
            json,
          });
        });
      const rebuildDescription =
        "rebuild one of the config's projections (without one, the shop's) from position 1, then switch to it";
      program.commands
        .find((c) => c.name() === 'projections')
        ?.command('rebuild')
        .description(rebuildDescription)
        .argument('<name>', 'projection name, e.g. order-history')
        .addOption(storeOption())
        .addOption(jsonOption())
        .action(rebuild);
      program
        .command('rebuild')
        .description(`${rebuildDescription} (same as projections rebuild)`)
        .argument('<name>', 'projection name')
        .addOption(storeOption())
        .addOption(jsonOption())
        .action(rebuild);

      const sagas = program.command('sagas').description('saga (process manager) instances');
      sagas
        .command('status')
        .description("the config's sagas: event types, subscription position, lag, instances")
        .argument('[saga]', 'only this saga')
        .addOption(storeOption())
        .addOption(jsonOption())
        .action(async (saga: string | undefined, o: { store?: string; json?: boolean }) =>
          run(
            o,
            async (context, json, config) => {
              const { sagaStatus } = await import('./sagas-command.js');
              const { sagasOf } = await import('./project-definitions.js');
              await sagaStatus(context, io, {
                sagas: sagasOf(config),
                ...(saga === undefined ? {} : { saga }),
                json,
              });
            },
            { readOnly: true },
          ),
        );
      const sagaQuery = (context: StoreContext) => context.sagaStore();
      sagas
        .command('list')
        .description('saga instances, paged by id')
        .option('--saga <name>', 'only this saga')
        .option('--status <status>', 'running, completed, compensating, compensated or failed')
        .option('--limit <n>', 'at most this many')
        .option('--after <id>', 'continue after this instance id')
        .addOption(storeOption())
        .addOption(jsonOption())
        .action(
          async (o: {
            store?: string;
            json?: boolean;
            saga?: string;
            status?: string;
            limit?: string;
            after?: string;
          }) =>
            run(
              o,
              async (context, json) => {
                const { listSagas, parseSagaStatus } = await import('./sagas-command.js');
                const { parseCount } = await args();
                const status = parseSagaStatus(o.status);
                await listSagas(await sagaQuery(context), io, {
                  ...(o.saga === undefined ? {} : { saga: o.saga }),
                  ...(status === undefined ? {} : { status }),
                  ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
                  ...(o.after === undefined ? {} : { after: o.after }),
                  json,
                });
              },
              { readOnly: true },
            ),
        );
      sagas
        .command('show')
        .description('one saga instance: state, step, history, timers')
        .argument('<saga>', 'saga name')
        .argument('<id>', 'instance id (the correlation id, e.g. the order id)')
        .addOption(storeOption())
        .addOption(jsonOption())
        .action(async (saga: string, id: string, o: { store?: string; json?: boolean }) =>
          run(
            o,
            async (context, json) => {
              const { showSaga } = await import('./sagas-command.js');
              await showSaga(await sagaQuery(context), io, { saga, id, json });
              return ExitCode.OK;
            },
            { readOnly: true },
          ),
        );
      // Works on the store directly: a runtime running elsewhere picks a retried command up
      // at its next outbox poll.
      const sagaCommands = async (context: StoreContext) => {
        const { ParkedSagaCommands } = await import('@causewayjs/core');
        return new ParkedSagaCommands({
          store: context.store,
          sagaStore: await context.sagaStore(),
        });
      };
      sagas
        .command('parked')
        .description('saga outbox commands that were given up (parked), to retry or skip')
        .option('--saga <name>', 'only commands sent by this saga (or choreography handler)')
        .option('--instance <id>', 'only commands of this instance')
        .option('--limit <n>', 'at most this many')
        .option('--after <seq>', 'continue after this outbox sequence number')
        .addOption(storeOption())
        .addOption(jsonOption())
        .action(
          async (o: {
            store?: string;
            json?: boolean;
            saga?: string;
            instance?: string;
            limit?: string;
            after?: string;
          }) =>
            run(
              o,
              async (context, json) => {
                const { listParkedCommands } = await import('./sagas-command.js');
                const { parseCount } = await args();
                await listParkedCommands(await sagaCommands(context), io, {
                  ...(o.saga === undefined ? {} : { source: o.saga }),
                  ...(o.instance === undefined ? {} : { instanceId: o.instance }),
                  ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
                  ...(o.after === undefined ? {} : { after: parseCount(o.after, '--after', 0) }),
                  json,
                });
              },
              { readOnly: true },
            ),
        );
      for (const action of ['retry', 'skip'] as const) {
        sagas
          .command(action)
          .description(
            action === 'retry'
              ? 'send a parked saga command again, with the same command id'
              : 'give up a parked saga command for good (recorded in its instance)',
          )
          .argument('<command-id>', 'id of the parked command (see `sagas parked`)')
          .option('--reason <text>', 'why, recorded in the instance history')
          .addOption(storeOption())
          .addOption(jsonOption())
          .action(
            async (commandId: string, o: { store?: string; json?: boolean; reason?: string }) =>
              run(o, async (context, json) => {
                const { settleParkedCommand } = await import('./sagas-command.js');
                await settleParkedCommand(await sagaCommands(context), io, {
                  action,
                  commandId,
                  ...(o.reason === undefined ? {} : { reason: o.reason }),
                  json,
                });
                return ExitCode.OK;
              }),
          );
      }
    },
  ];
}
