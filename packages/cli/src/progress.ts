import cliProgress from 'cli-progress';
import type { CliIo } from './cli-io.js';

/** A progress display for long work: a bar with rate and ETA on a terminal, nothing otherwise. */
export interface Progress {
  /** Sets how far the work has got (and, when it changed, the total). */
  update(value: number, total?: number): void;
  /** Removes the bar. */
  stop(): void;
}

const silent: Progress = { update: () => undefined, stop: () => undefined };

/**
 * A progress bar on stderr when it is a terminal (and `--json` was not asked for); a no-op
 * otherwise, so logs and pipes stay clean.
 *
 * @param label what is counted, e.g. `events`.
 */
export function startProgress(
  io: CliIo,
  options: { total: number; label: string; enabled?: boolean },
): Progress {
  if (!io.interactive || options.enabled === false) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      format: `{bar} {percentage}% | {value}/{total} ${options.label} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(Math.max(options.total, 1), 0, { rate: '0' });
  return {
    update(value, total) {
      if (total !== undefined) bar.setTotal(Math.max(total, 1));
      const seconds = (performance.now() - started) / 1000;
      bar.update(value, { rate: seconds > 0 ? Math.round(value / seconds).toString() : '0' });
    },
    stop() {
      bar.stop();
    },
  };
}
