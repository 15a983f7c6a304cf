import { readFileSync } from 'node:fs';
import { ScavengeUnsupportedError } from '@causewayjs/core';
import { CliUsageError, listenOrExplain } from './cli-errors.js';
import type { CausewayConfig } from './config.js';
import { type CliIo, printJsonLine, printLine } from './cli-io.js';
import { ExitCode } from './exit-codes.js';
import { scavengeTarget } from './scavenge-target.js';
import type { StoreContext } from './store-context.js';
import { redactUrl } from './stats-command.js';

/** Options of {@link serveStore}. */
export interface ServeOptions {
  port: number;
  host: string;
  json?: boolean;
  /** JSON security configuration (API keys, JWT, access rules): see docs/security.md. */
  securityFile?: string | undefined;
  /** PEM certificate and key files: serve HTTPS. */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** With TLS: max-age of the HSTS header, in seconds (default one year). */
  hstsMaxAgeSeconds?: number | undefined;
  /** Listen on a non-loopback address without authentication. */
  allowInsecure?: boolean | undefined;
  /**
   * Minimum level of the server's logs, written to stderr as JSON lines (pino). Default
   * `warn`: access denials, refused authentications and failures; `info` adds a line per
   * request; `silent` turns them off.
   */
  logLevel?: string | undefined;
  /**
   * The project's config: its schemas are registered at start (an identical schema keeps
   * its version), its projections run in this process (each behind its lease: where another
   * process runs one, this one stands by) and are served under `/projections`, and its
   * sagas' subscriptions are reported (lag, parked events) even before they checkpoint.
   */
  project?: CausewayConfig | undefined;
}

/** Levels `--log-level` takes (pino's). */
export const SERVE_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Serves the HTTP API and admin UI over any store until SIGINT/SIGTERM: the events, the saga
 * instances and schema registry in its database, and the parked events of every subscription
 * checkpointed there when the server starts (whatever process runs them; a retry marks them,
 * and the running subscription picks them up). Every route, server-sent events and the admin
 * UI read and write through the context's store, so the CLI's stack (see
 * `openStoreContext`) validates every append over HTTP against the stored registry.
 */
export async function serveStore(
  context: StoreContext,
  io: CliIo,
  options: ServeOptions,
): Promise<ExitCode> {
  const level = options.logLevel ?? 'warn';
  if (!SERVE_LOG_LEVELS.includes(level))
    throw new CliUsageError(`--log-level must be one of ${SERVE_LOG_LEVELS.join(', ')}`);
  const { CausewayMetrics, checkpointSource, createServer, createLogger, parkedSubscription } =
    await import('@causewayjs/server');
  // JSON lines on stderr, always (no pretty printer is a dependency); stdout keeps the results.
  // The logger redacts credentials and event data (REDACTED_LOG_PATHS).
  const logger = createLogger({ level, destination: io.stderr });
  const guard =
    options.securityFile === undefined
      ? undefined
      : await import('@causewayjs/core').then(({ createAccessGuard, loadSecurityConfig }) =>
          createAccessGuard(loadSecurityConfig(options.securityFile as string), {
            logger: logger.child({ component: 'access-guard' }),
          }),
        );
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
    throw new CliUsageError('--tls-cert and --tls-key go together');
  const { SchemaRegistry } = await import('@causewayjs/core');
  const { schemaRegistryOf } = await import('@causewayjs/core');
  const storage = await context.subscriptionStorage();
  const sagaStore = await context.sagaStore();
  const { ParkedSagaCommands } = await import('@causewayjs/core');
  const project = options.project ?? {};
  const registry =
    schemaRegistryOf(context.store) ??
    (await SchemaRegistry.open({ storage: await context.schemaStorage() }));
  for (const entry of project.schemas ?? [])
    await registry.register(entry.type, entry.schema, {
      ...(entry.version === undefined ? {} : { version: entry.version }),
      ...(entry.compatibility === undefined ? {} : { compatibility: entry.compatibility }),
    });
  const checkpoints = await storage.checkpoints.list();
  const sagaSubscriptions = (project.sagas ?? [])
    .map((saga) => `saga:${saga.name}`)
    .filter((name) => !checkpoints.some((c) => c.name === name));
  const { Projector } = await import('@causewayjs/core');
  const projector =
    project.projections !== undefined && project.projections.length > 0
      ? new Projector({ store: await context.projectionStore(), projections: project.projections })
      : undefined;
  // The subscriptions run in other processes: /metrics, /stats and the admin UI report them
  // from their stored checkpoints (lag = head - checkpoint), read at every scrape.
  const metrics = new CausewayMetrics();
  metrics.runtime.add(checkpointSource(storage));
  const server = await createServer({
    metrics,
    store: context.store,
    subscriptions: [...checkpoints.map((c) => c.name), ...sagaSubscriptions].map((name) =>
      parkedSubscription(name, storage.parked),
    ),
    ...(projector === undefined ? {} : { projectors: [projector] }),
    sagas: sagaStore,
    sagaCommands: new ParkedSagaCommands({ store: context.store, sagaStore }),
    // POST /admin/scavenge through the backend: tombstoned streams' snapshots go too; on a
    // hash-chained store through the integrity layer, which moves the chain starts. Signed
    // chains need the signing key, which serve does not take: that is for causeway scavenge.
    scavenge: async (scavengeOptions) =>
      (
        await scavengeTarget(context, {
          signedWithoutKey: () =>
            new ScavengeUnsupportedError(
              `${redactUrl(context.url)} (its hash chains are signed: run causeway scavenge --signing-key)`,
            ),
        })
      ).scavenge(scavengeOptions),
    // The stack's registry (the server then validates through the stack itself); a context
    // opened otherwise gets one from its schema storage, and the server validates with it.
    schemas: registry,
    ...(guard === undefined ? {} : { guard }),
    ...(options.tlsCert === undefined || options.tlsKey === undefined
      ? {}
      : { tls: { cert: readFileSync(options.tlsCert), key: readFileSync(options.tlsKey) } }),
    ...(options.hstsMaxAgeSeconds === undefined
      ? {}
      : { hsts: { maxAgeSeconds: options.hstsMaxAgeSeconds } }),
    allowInsecure: options.allowInsecure === true,
    logger,
  });
  try {
    await projector?.start();
    const address = await listenOrExplain(options, () =>
      server.listen({ host: options.host, port: options.port }),
    );
    if (options.json)
      printJsonLine(io, {
        event: 'listening',
        url: `${address.url}/`,
        store: redactUrl(context.url),
      });
    else
      printLine(
        io,
        `Causeway serving ${redactUrl(context.url)}\n  admin UI: ${address.url}/\n  Ctrl-C to stop`,
      );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return ExitCode.OK;
  } finally {
    await server.close();
    await projector?.stop();
  }
}
