import { pino, type Logger } from 'pino';
import { traceLogMixin } from '@causewayjs/core/internals';
import { type CliIo, printJsonLine, printLine } from './cli-io.js';
import { listenOrExplain } from './cli-errors.js';
import { ExitCode } from './exit-codes.js';
import { loadShopModule, type ShopRuntime, type ShopStartOptions } from './shop-module.js';
import type { StoreContext } from './store-context.js';
import { redactUrl } from './stats-command.js';

/** Options of {@link runShop}. */
export interface RunShopOptions extends Omit<ShopStartOptions, 'context' | 'logger'> {
  /** Print a status line this often (ms; default 5,000; 0: never). */
  statusEveryMs?: number;
  /**
   * With `orders` or `durationMs`: once the traffic is done, how long to wait for every order
   * to be completed or cancelled before stopping (ms, default 60,000).
   */
  settleTimeoutMs?: number;
  json?: boolean;
  /** pino level of the shop's logs on stderr (default `warn`). */
  logLevel?: string;
}

/**
 * Runs the shop (`causeway demo` and `causeway serve --shop`): starts it, prints the admin
 * UI's address and a status line now and then, and stops on SIGINT/SIGTERM, or, with
 * `orders`/`durationMs`, once the traffic is done and its orders have settled.
 */
export async function runShop(
  context: StoreContext,
  io: CliIo,
  options: RunShopOptions,
): Promise<ExitCode> {
  const shopModule = await loadShopModule();
  const logger: Logger = pino(
    { level: options.logLevel ?? 'warn', base: { service: 'causeway-shop' }, mixin: traceLogMixin },
    pino.destination({ dest: 2, sync: true }),
  );
  const { statusEveryMs, settleTimeoutMs, json, logLevel: _level, ...start } = options;
  const shop: ShopRuntime = await listenOrExplain(start, () =>
    shopModule.startShop({ ...start, context, logger }),
  );
  const say = (event: string, text: string, fields: Record<string, unknown>) =>
    json ? printJsonLine(io, { event, ...fields }) : printLine(io, text);
  try {
    const missing = Object.entries(shop.parts)
      .filter(([, state]) => state === 'missing')
      .map(([part]) => part);
    say(
      'started',
      `Causeway shop on ${redactUrl(context.url)}${shop.url ? `\n  admin UI: ${shop.url}` : ''}${start.bus !== undefined && shop.parts.commandBus === 'running' ? `\n  events and commands over NATS: ${redactUrl(start.bus)}` : ''}${missing.length > 0 ? `\n  not in this build: ${missing.join(', ')}` : ''}\n  Ctrl-C to stop`,
      { url: shop.url ?? null, store: redactUrl(context.url), parts: shop.parts },
    );
    const status = async () => {
      const counts = await shop.orderCounts();
      const traffic = shop.trafficStats();
      const alerts = shop.analytics?.alerts().length ?? 0;
      const inProgress = counts.total - counts.completed - counts.cancelled;
      say(
        'status',
        `orders: ${counts.total} (${inProgress} in progress, ${counts.completed} completed, ${counts.cancelled} cancelled)${traffic ? `; traffic: ${traffic.placed} placed, ${traffic.rejected + traffic.failed} failed` : ''}; fraud alerts: ${alerts}`,
        {
          counts,
          traffic: traffic ?? null,
          fraudAlerts: alerts,
          topProducts: shop.analytics?.topProducts() ?? null,
        },
      );
      return counts;
    };
    const every = statusEveryMs ?? 5_000;
    const timer =
      every > 0
        ? setInterval(() => {
            status().catch((error: unknown) => logger.warn({ err: error }, 'status failed'));
          }, every)
        : undefined;
    try {
      const bounded = start.orders !== undefined || start.durationMs !== undefined;
      const stopped = new Promise<void>((resolve) => {
        if (io.signal.aborted) resolve();
        io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      if (!bounded || !shop.traffic) {
        await stopped;
        return ExitCode.OK; // Stopped by Ctrl-C: a clean stop.
      }
      await Promise.race([shop.traffic.done(), stopped]);
      if (io.signal.aborted) return ExitCode.OK;
      const settled = await settle(shop, settleTimeoutMs ?? 60_000, io.signal);
      await status();
      return settled ? ExitCode.OK : ExitCode.FAILURE;
    } finally {
      if (timer) clearInterval(timer);
    }
  } finally {
    await shop.stop();
    logger.flush();
  }
}

/**
 * Waits until every order placed is completed or cancelled (when the fulfilment saga runs)
 * or, without it, until the order history has caught up; false on timeout.
 */
async function settle(shop: ShopRuntime, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const fulfilling = shop.parts.fulfilment === 'running';
  for (;;) {
    const counts = await shop.orderCounts();
    const traffic = shop.trafficStats();
    const placed = traffic?.placed ?? counts.total;
    const done = fulfilling
      ? counts.completed + counts.cancelled >= placed
      : counts.total >= placed;
    if (done) return true;
    if (Date.now() >= deadline || signal.aborted) return false;
    // Progress is only visible through the read model: look again shortly.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
