import { Option, type Command } from 'commander';
import { CliUsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';
import { parseCount } from './cli-arguments.js';
import { runShop, type RunShopOptions } from './demo-command.js';
import { ExitCode } from './exit-codes.js';
import type { ProgramExtension } from './program.js';
import { rebuildProjection } from './rebuild-command.js';
import {
  listParkedCommands,
  listSagas,
  parseSagaStatus,
  settleParkedCommand,
  showSaga,
} from './sagas-command.js';
import { ParkedSagaCommands } from '@causewayjs/core';
import { loadShopModule } from './shop-module.js';
import { serveStore } from './serve-command.js';
import { scavengeExtension } from './scavenge-command.js';
import { sensorsExtension } from './sensors-command.js';
import { verifyExtension } from './verify-command.js';
import type { StoreContext } from './store-context.js';

/** Parses a share between 0 and 1 (`--payment-failure-rate`). */
function parseRate(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new CliUsageError(`${what} must be a number from 0 to 1, got "${text}"`);
  return n;
}

/** Parses a positive number (`--rate`). */
function parsePositive(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new CliUsageError(`${what} must be a number >= 0, got "${text}"`);
  return n;
}

interface ShopFlags {
  store?: string;
  json?: boolean;
  port: string;
  host: string;
  rate?: string;
  orders?: string;
  duration?: string;
  paymentFailureRate: string;
  paymentTimeout: string;
  seed?: string;
  memberId?: string;
  bus?: string;
  logLevel: string;
  statusEvery: string;
}

function shopOptions(o: ShopFlags, defaultRate: number): RunShopOptions {
  return {
    port: parseCount(o.port, '--port'),
    host: o.host,
    rate: o.rate === undefined ? defaultRate : parsePositive(o.rate, '--rate'),
    ...(o.orders === undefined ? {} : { orders: parseCount(o.orders, '--orders', 1) }),
    ...(o.duration === undefined
      ? {}
      : { durationMs: parsePositive(o.duration, '--duration') * 1000 }),
    paymentFailureRate: parseRate(o.paymentFailureRate, '--payment-failure-rate'),
    paymentTimeoutMs: parsePositive(o.paymentTimeout, '--payment-timeout') * 1000,
    ...(o.seed === undefined ? {} : { seed: parseCount(o.seed, '--seed') }),
    ...(o.memberId === undefined ? {} : { memberId: o.memberId }),
    ...(o.bus === undefined ? {} : { bus: o.bus }),
    logLevel: o.logLevel,
    statusEveryMs: parsePositive(o.statusEvery, '--status-every') * 1000,
    json: o.json === true,
  };
}

/**
 * `serve --shop` runs the shop's own server, which takes none of the security, TLS and HSTS
 * flags: refuse them rather than serve without the protection they ask for. Returns the
 * shop's default traffic rate for `serve` (0).
 */
function refuseServerFlagsWithShop(o: {
  security?: string;
  tlsCert?: string;
  tlsKey?: string;
  hstsMaxAge?: string;
}): number {
  const given = [
    ['--security', o.security],
    ['--tls-cert', o.tlsCert],
    ['--tls-key', o.tlsKey],
    ['--hsts-max-age', o.hstsMaxAge],
  ].filter(([, value]) => value !== undefined);
  if (given.length > 0)
    throw new CliUsageError(
      `${given.map(([flag]) => flag).join(', ')} cannot be used with --shop (its server would ignore them)`,
    );
  return 0;
}

function addShopOptions(command: Command, defaultPort: string): Command {
  return command
    .addOption(
      new Option(
        '--store <url>',
        'event store URL (default: $CAUSEWAY_STORE or sqlite:./data/events.db)',
      ),
    )
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
 * The commands beyond the core set: `serve`, `demo`, `sensors`, `projections rebuild`,
 * `sagas list|show|parked|retry|skip`.
 * They load the server and the shop only when run.
 */
export function cliExtensions(io: CliIo): ProgramExtension[] {
  return [
    verifyExtension(io),
    scavengeExtension(io),
    sensorsExtension(io),
    (program, run) => {
      addShopOptions(
        program
          .command('demo')
          .description('run the shop example: server, admin UI, projections, saga, traffic'),
        '3000',
      )
        .option('--rate <orders/s>', 'orders per second of the traffic generator', '2')
        .action(async (o: ShopFlags) =>
          run(o, (context) => runShop(context, io, shopOptions(o, 2))),
        );

      addShopOptions(
        program
          .command('serve')
          .description(
            'serve the HTTP API and admin UI over a store (with --shop: run the shop too)',
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
        .action(
          async (
            o: ShopFlags & {
              shop?: boolean;
              security?: string;
              tlsCert?: string;
              tlsKey?: string;
              hstsMaxAge?: string;
              allowInsecure?: boolean;
            },
          ) =>
            run(o, (context) =>
              o.shop === true
                ? runShop(context, io, shopOptions(o, refuseServerFlagsWithShop(o)))
                : serveStore(context, io, {
                    port: parseCount(o.port, '--port'),
                    host: o.host,
                    json: o.json === true,
                    securityFile: o.security,
                    tlsCert: o.tlsCert,
                    tlsKey: o.tlsKey,
                    hstsMaxAgeSeconds:
                      o.hstsMaxAge === undefined
                        ? undefined
                        : parseCount(o.hstsMaxAge, '--hsts-max-age'),
                    allowInsecure: o.allowInsecure,
                    logLevel: o.logLevel,
                  }),
            ),
        );

      const projections = program.commands.find((c) => c.name() === 'projections');
      projections
        ?.command('rebuild')
        .description("rebuild one of the shop's projections from position 1, then switch to it")
        .argument('<name>', 'projection name, e.g. order-history')
        .addOption(new Option('--store <url>', 'event store URL'))
        .addOption(new Option('--json', 'machine-readable JSON output'))
        .action(async (name: string, o: { store?: string; json?: boolean }) =>
          run(o, async (context, json) => {
            const shop = await loadShopModule();
            await rebuildProjection(context, io, { name, projections: shop.projections, json });
          }),
        );

      const sagas = program.command('sagas').description('saga (process manager) instances');
      const sagaQuery = (context: StoreContext) => context.sagaStore();
      sagas
        .command('list')
        .description('saga instances, paged by id')
        .option('--saga <name>', 'only this saga')
        .option('--status <status>', 'running, completed, compensating, compensated or failed')
        .option('--limit <n>', 'at most this many')
        .option('--after <id>', 'continue after this instance id')
        .addOption(new Option('--store <url>', 'event store URL'))
        .addOption(new Option('--json', 'machine-readable JSON output'))
        .action(
          async (o: {
            store?: string;
            json?: boolean;
            saga?: string;
            status?: string;
            limit?: string;
            after?: string;
          }) =>
            run(o, async (context, json) => {
              const status = parseSagaStatus(o.status);
              await listSagas(await sagaQuery(context), io, {
                ...(o.saga === undefined ? {} : { saga: o.saga }),
                ...(status === undefined ? {} : { status }),
                ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
                ...(o.after === undefined ? {} : { after: o.after }),
                json,
              });
            }),
        );
      sagas
        .command('show')
        .description('one saga instance: state, step, history, timers')
        .argument('<saga>', 'saga name')
        .argument('<id>', 'instance id (the correlation id, e.g. the order id)')
        .addOption(new Option('--store <url>', 'event store URL'))
        .addOption(new Option('--json', 'machine-readable JSON output'))
        .action(async (saga: string, id: string, o: { store?: string; json?: boolean }) =>
          run(o, async (context, json) => {
            await showSaga(await sagaQuery(context), io, { saga, id, json });
            return ExitCode.OK;
          }),
        );
      // Works on the store directly: a runtime running elsewhere picks a retried command up
      // at its next outbox poll.
      const sagaCommands = async (context: StoreContext) =>
        new ParkedSagaCommands({ store: context.store, sagaStore: await context.sagaStore() });
      sagas
        .command('parked')
        .description('saga outbox commands that were given up (parked), to retry or skip')
        .option('--saga <name>', 'only commands sent by this saga (or choreography handler)')
        .option('--instance <id>', 'only commands of this instance')
        .option('--limit <n>', 'at most this many')
        .option('--after <seq>', 'continue after this outbox sequence number')
        .addOption(new Option('--store <url>', 'event store URL'))
        .addOption(new Option('--json', 'machine-readable JSON output'))
        .action(
          async (o: {
            store?: string;
            json?: boolean;
            saga?: string;
            instance?: string;
            limit?: string;
            after?: string;
          }) =>
            run(o, async (context, json) => {
              await listParkedCommands(await sagaCommands(context), io, {
                ...(o.saga === undefined ? {} : { source: o.saga }),
                ...(o.instance === undefined ? {} : { instanceId: o.instance }),
                ...(o.limit === undefined ? {} : { limit: parseCount(o.limit, '--limit', 1) }),
                ...(o.after === undefined ? {} : { after: parseCount(o.after, '--after', 0) }),
                json,
              });
            }),
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
          .addOption(new Option('--store <url>', 'event store URL'))
          .addOption(new Option('--json', 'machine-readable JSON output'))
          .action(
            async (commandId: string, o: { store?: string; json?: boolean; reason?: string }) =>
              run(o, async (context, json) => {
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
