import { pino, type Logger } from 'pino';
import { parseCount } from './cli-arguments.js';
import { CliUsageError, listenOrExplain } from './cli-errors.js';
import { type CliIo, printJsonLine, printLine } from './cli-io.js';
import { ExitCode } from './exit-codes.js';
import {
  loadSensorsModule,
  type SensorsStartOptions,
  type SensorsStats,
} from './sensors-module.js';
import type { StoreContext } from './store-context.js';
import { redactUrl } from './stats-command.js';

/** The broker `causeway sensors` uses without `--mqtt` and `CAUSEWAY_MQTT_URL`. */
export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';

/** Options of {@link runSensors}. */
export interface RunSensorsOptions extends Omit<SensorsStartOptions, 'context' | 'logger'> {
  /** Print a status line this often (ms; default 5,000; 0: never). */
  statusEveryMs?: number;
  /** With `durationMs`: how long to wait for the platform to catch up before stopping (ms). */
  settleTimeoutMs?: number;
  json?: boolean;
  /** pino level of the platform's logs on stderr (default `warn`). */
  logLevel?: string;
}

/**
 * Runs the sensor-platform example (`causeway sensors`): starts it, prints the admin UI's
 * address and a status line now and then, and stops on SIGINT/SIGTERM or, with
 * `durationMs`, once the simulation is over and everything it sent has been processed.
 */
export async function runSensors(
  context: StoreContext,
  io: CliIo,
  options: RunSensorsOptions,
): Promise<ExitCode> {
  const sensorsModule = await loadSensorsModule();
  const logger: Logger = pino(
    { level: options.logLevel ?? 'warn', base: { service: 'causeway-sensors' } },
    pino.destination({ dest: 2, sync: true }),
  );
  const { statusEveryMs, settleTimeoutMs, json, logLevel: _level, ...start } = options;
  const platform = await listenOrExplain(start, () =>
    sensorsModule.startSensors({ ...start, context, logger }),
  );
  const say = (event: string, text: string, fields: Record<string, unknown>) =>
    json ? printJsonLine(io, { event, ...fields }) : printLine(io, text);
  const status = () => {
    const s: SensorsStats = platform.stats();
    say(
      'status',
      `readings: ${s.sent} sent, ${s.ingested} stored, ${s.parked} parked; averages: ${s.averages}; alerts: ${s.anomalies} anomalies, ${s.overheats} overheats, ${s.published} published over MQTT`,
      { ...s },
    );
  };
  try {
    say(
      'started',
      `Causeway sensors on ${redactUrl(context.url)}\n  MQTT: ${redactUrl(start.mqttUrl)}, topics ${platform.topicPrefix}/sensors/<id>/readings, alerts on ${platform.topicPrefix}/alerts/<id>/<type>${platform.url ? `\n  admin UI: ${platform.url}` : ''}\n  Ctrl-C to stop`,
      {
        url: platform.url ?? null,
        store: redactUrl(context.url),
        mqtt: redactUrl(start.mqttUrl),
        topicPrefix: platform.topicPrefix,
      },
    );
    const every = statusEveryMs ?? 5_000;
    const timer = every > 0 ? setInterval(status, every) : undefined;
    try {
      const stopped = new Promise<void>((resolve) => {
        if (io.signal.aborted) resolve();
        io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      if (start.durationMs === undefined || !platform.simulation) {
        await stopped;
        return ExitCode.OK; // Stopped by Ctrl-C: a clean stop.
      }
      await Promise.race([platform.simulation.done(), stopped]);
      if (io.signal.aborted) return ExitCode.OK;
      const settled = await platform.settle({ timeoutMs: settleTimeoutMs ?? 30_000 });
      status();
      return settled ? ExitCode.OK : ExitCode.FAILURE;
    } finally {
      if (timer) clearInterval(timer);
    }
  } finally {
    await platform.stop();
    logger.flush();
  }
}

const MQTT_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'];

/** Checks a broker URL (`--mqtt`, `CAUSEWAY_MQTT_URL`) before any client sees it. */
function parseMqttUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !MQTT_PROTOCOLS.includes(url.protocol) || url.hostname === '')
    throw new CliUsageError(
      `the MQTT broker must be a URL such as mqtt://127.0.0.1:1883 (${MQTT_PROTOCOLS.map((p) => p.slice(0, -1)).join(', ')}), got "${redactUrl(text)}"`,
    );
  return text;
}

/** Parses a number of seconds >= 0 into milliseconds. */
function parseSeconds(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new CliUsageError(`${what} must be a number of seconds >= 0, got "${text}"`);
  return Math.round(n * 1000);
}

export interface SensorsFlags {
  store?: string;
  json?: boolean;
  mqtt?: string;
  topicPrefix: string;
  sensors: string;
  seed: string;
  interval: string;
  duration?: string;
  port: string;
  host: string;
  serve: boolean;
  sessionExpiry?: string;
  logLevel: string;
  statusEvery: string;
}

/** `causeway sensors` with its command-line flags: checks them, then runs the example. */
export function runSensorsFromFlags(
  context: StoreContext,
  io: CliIo,
  o: SensorsFlags,
): Promise<ExitCode> {
  const intervalMs = parseSeconds(o.interval, '--interval');
  if (intervalMs < 1) throw new CliUsageError('--interval must be at least 0.001 s');
  const fromEnv = io.env.CAUSEWAY_MQTT_URL;
  const mqttUrl = parseMqttUrl(
    o.mqtt ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_MQTT_URL),
  );
  return runSensors(context, io, {
    mqttUrl,
    topicPrefix: o.topicPrefix,
    sensors: parseCount(o.sensors, '--sensors'),
    seed: parseCount(o.seed, '--seed'),
    intervalMs,
    ...(o.duration === undefined ? {} : { durationMs: parseSeconds(o.duration, '--duration') }),
    ...(o.sessionExpiry === undefined
      ? {}
      : { sessionExpirySeconds: parseCount(o.sessionExpiry, '--session-expiry') }),
    ...(o.serve ? { port: parseCount(o.port, '--port'), host: o.host } : {}),
    logLevel: o.logLevel,
    statusEveryMs: parseSeconds(o.statusEvery, '--status-every'),
    json: o.json === true,
  });
}
