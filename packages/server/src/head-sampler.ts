import type { EventStore } from '@causewayjs/core';

/** One sample of the store's head position. */
export interface HeadSample {
  /** Milliseconds since the epoch. */
  at: number;
  head: number;
}

/** A point of the throughput series `/stats` returns. */
export interface ThroughputPoint {
  /** ISO-8601 time of the sample. */
  at: string;
  head: number;
  /** Events committed per second since the previous sample (by anyone, not only this server). */
  eventsPerSecond: number;
}

/**
 * Samples the store's head position at an interval into a ring of the latest samples, so
 * `/stats` can chart throughput of the whole store (every writer, not only this process)
 * without keeping anything per event.
 */
export class HeadSampler {
  private readonly samples: HeadSample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private sampling = false;

  constructor(
    private readonly store: EventStore,
    private readonly intervalMs: number,
    /** Samples kept (default 300: five minutes at one a second). */
    private readonly capacity = 300,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.timer || this.intervalMs <= 0) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now (skipped while the previous one is still reading). */
  async sample(): Promise<void> {
    if (this.sampling || this.store.isClosed) return;
    this.sampling = true;
    try {
      const head = await this.store.headPosition();
      this.samples.push({ at: this.now(), head });
      if (this.samples.length > this.capacity) this.samples.shift();
    } catch {
      // A store that is closing or unreachable: the gap shows in the series.
    } finally {
      this.sampling = false;
    }
  }

  /** The series, oldest first: each sample with the rate since the one before. */
  series(): ThroughputPoint[] {
    return this.samples.map((sample, i) => {
      const previous = i > 0 ? this.samples[i - 1] : undefined;
      const seconds = previous ? (sample.at - previous.at) / 1000 : 0;
      return {
        at: new Date(sample.at).toISOString(),
        head: sample.head,
        eventsPerSecond:
          previous && seconds > 0 ? Math.max(0, sample.head - previous.head) / seconds : 0,
      };
    });
  }
}
