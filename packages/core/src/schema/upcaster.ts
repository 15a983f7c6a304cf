import type { RecordedEvent } from '../core/envelope.js';
import { InvalidUpcasterError, UpcasterMissingError, UpcastFailedError } from './schema-errors.js';

/**
 * Turns the data of one event type from version `fromVersion` to `fromVersion + 1`. Stored
 * events keep their version forever; upcasters run on every read, chained, so readers only
 * see the current version.
 *
 * `upcast` must be pure and synchronous: it runs on every read of every old event.
 */
export interface Upcaster<From = unknown, To = unknown> {
  type: string;
  fromVersion: number;
  /** The data at `fromVersion + 1`. Gets the whole event for context (metadata, time). */
  upcast(data: From, event: RecordedEvent<From>): To;
}

/**
 * Defines an upcaster of `type` from `fromVersion` to `fromVersion + 1`.
 *
 * @example
 * ```ts
 * const upcasters = [
 *   upcaster('order.placed', 1, (d: { total: number }) => ({ ...d, currency: 'EUR' })),
 *   upcaster('order.placed', 2, (d: { total: number; currency: string }) => ({
 *     amount: { value: d.total, currency: d.currency },
 *   })),
 * ];
 * ```
 */
export function upcaster<From, To>(
  type: string,
  fromVersion: number,
  upcast: (data: From, event: RecordedEvent<From>) => To,
): Upcaster<From, To> {
  return { type, fromVersion, upcast };
}

/**
 * A set of upcasters indexed by type and version, applied as chains: an event at v1 of a
 * type whose current version is v3 goes through `1 → 2` then `2 → 3`.
 */
export class UpcasterChain {
  /** type → fromVersion → upcaster. */
  private readonly byType = new Map<string, Map<number, Upcaster>>();

  /**
   * @throws {InvalidUpcasterError} for a malformed upcaster or two for the same type and version.
   */
  constructor(upcasters: readonly Upcaster<never, unknown>[] = []) {
    for (const [index, u] of upcasters.entries()) {
      if (typeof u !== 'object' || u === null) {
        throw new InvalidUpcasterError(
          `entry ${index} is not an object { type, fromVersion, upcast }`,
        );
      }
      if (typeof u.type !== 'string' || u.type.length === 0) {
        throw new InvalidUpcasterError(`entry ${index} has no type`);
      }
      if (!(Number.isSafeInteger(u.fromVersion) && u.fromVersion >= 1)) {
        throw new InvalidUpcasterError(
          `entry ${index} (${u.type}): fromVersion must be an integer >= 1`,
        );
      }
      if (typeof u.upcast !== 'function') {
        throw new InvalidUpcasterError(`entry ${index} (${u.type}): upcast must be a function`);
      }
      const versions = this.byType.get(u.type) ?? new Map<number, Upcaster>();
      if (versions.has(u.fromVersion)) {
        throw new InvalidUpcasterError(`two upcasters of ${u.type} from v${u.fromVersion}`);
      }
      versions.set(u.fromVersion, u);
      this.byType.set(u.type, versions);
    }
  }

  /** The version the chain of `type` leads to (its highest `fromVersion + 1`), or undefined. */
  targetVersion(type: string): number | undefined {
    const versions = this.byType.get(type);
    if (!versions || versions.size === 0) return undefined;
    return Math.max(...versions.keys()) + 1;
  }

  /**
   * The highest version an event of `type` at `fromVersion` can be brought to with the
   * upcasters held: `fromVersion` itself when there is no link from it.
   */
  reachableVersion(type: string, fromVersion: number): number {
    const versions = this.byType.get(type);
    let version = fromVersion;
    while (versions?.has(version)) version++;
    return version;
  }

  /**
   * `event` brought to `target` (a new object; the input is not changed). Events already at
   * or beyond `target` are returned as they are.
   *
   * @throws {UpcasterMissingError} when a link of the chain is missing.
   * @throws {UpcastFailedError} when an upcaster throws, naming the event and versions.
   */
  upcast(event: RecordedEvent, target: number): RecordedEvent {
    if (event.schemaVersion >= target) return event;
    const versions = this.byType.get(event.type);
    let current = event;
    for (let version = event.schemaVersion; version < target; version++) {
      const step = versions?.get(version);
      if (!step)
        throw new UpcasterMissingError(event.id, event.type, event.schemaVersion, target, version);
      let data: unknown;
      try {
        data = step.upcast(current.data, current);
      } catch (error) {
        throw new UpcastFailedError(event.id, event.type, version, version + 1, describe(error), {
          cause: error,
        });
      }
      current = { ...current, data, schemaVersion: version + 1 };
    }
    return current;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
