/**
 * Simulated sensors: a deterministic sequence of readings and maintenance notices, the same
 * for the same seed. Each sensor wanders around its own base temperature; now and then one
 * spikes (an anomaly) or overheats for three readings in a row (an overheat alert, unless a
 * technician's maintenance notice follows, which happens to half of them).
 */

/** One message a simulated sensor sends. */
export type SensorMessage =
  | { kind: 'reading'; sensorId: string; value: number; ts: number }
  | { kind: 'maintenance'; sensorId: string; ts: number; technician: string };

/** Options of {@link simulateSensors}. */
export interface SimulateSensorsOptions {
  /** How many sensors (`s1`..`sN`). */
  sensors: number;
  /** Seed of the random choices (default 1). */
  seed?: number;
  /** Event time of the first readings (ms since the epoch). */
  start: number;
  /** Time between two readings of a sensor (ms, default 1,000). */
  intervalMs?: number;
  /** Readings per sensor (default: no end). */
  ticks?: number;
  /** Chance per reading of a spike (default 0.01). */
  spikeRate?: number;
  /** Chance per reading that an overheat starts (default 0.01). */
  overheatRate?: number;
}

/** A small, fast, seedable PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * The simulated messages in event-time order (`ts`; sensors in order within one tick; a
 * maintenance notice a millisecond after the overheat it answers), lazily:
 * without `ticks` it never ends.
 *
 * @example
 * ```ts
 * const first = [...take(simulateSensors({ sensors: 3, seed: 7, start: 0 }), 10)];
 * ```
 */
export function* simulateSensors(options: SimulateSensorsOptions): Generator<SensorMessage> {
  const random = prng(options.seed ?? 1);
  const interval = options.intervalMs ?? 1000;
  const spikeRate = options.spikeRate ?? 0.01;
  const overheatRate = options.overheatRate ?? 0.01;
  const sensors = Array.from({ length: options.sensors }, (_, i) => ({
    id: `s${i + 1}`,
    base: 18 + random() * 6,
    /** High readings still to send in the current overheat. */
    overheat: 0,
    /** Whether a technician comes after the current overheat. */
    repaired: false,
  }));
  for (let tick = 0; options.ticks === undefined || tick < options.ticks; tick += 1) {
    const ts = options.start + tick * interval;
    const technicians: SensorMessage[] = [];
    for (const s of sensors) {
      const noise = (random() - 0.5) * 3;
      s.base = Math.min(30, Math.max(15, s.base + (random() - 0.5) * 0.4));
      if (s.overheat === 0 && random() < overheatRate) {
        s.overheat = 3;
        s.repaired = random() < 0.5;
      }
      let value = s.base + noise;
      if (s.overheat > 0) {
        value = 82 + random() * 12;
        s.overheat -= 1;
      } else if (random() < spikeRate) value = s.base + 20 + random() * 10;
      yield { kind: 'reading', sensorId: s.id, value: round1(value), ts };
      if (s.overheat === 0 && s.repaired) {
        s.repaired = false;
        technicians.push({ kind: 'maintenance', sensorId: s.id, ts: ts + 1, technician: 'sim' });
      }
    }
    // After the tick's readings, a millisecond later: the order stays the event-time order.
    yield* technicians;
  }
}
