/**
 * The small interface through which the store benchmark drives any event store: Causeway's
 * own adapters and the peers it is compared with. Only what the workloads need.
 */

/** An event as the workloads produce it. */
export interface BenchEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Where a store under test keeps its data: always a fresh, empty place. */
export type StoreTarget =
  | { kind: 'sqlite'; /** a file that does not exist yet */ file: string }
  | {
      kind: 'postgres';
      /** connection URL without a schema parameter */
      url: string;
      /** a schema that exists and is empty; the store keeps all its tables in it */
      schema: string;
    };

/** An open event store under test. */
export interface StorePeer {
  /**
   * Appends to `stream` with optimistic concurrency: `expectedRevision` is the 0-based
   * revision of the stream's last event, or -1 when the stream must not exist yet.
   * Resolves with the global position of the last appended event.
   */
  append(stream: string, events: readonly BenchEvent[], expectedRevision: number): Promise<number>;
  /**
   * Reads `count` events of the global log in order, starting at global position `from`,
   * through the store's own way of reading the log. Resolves with how many were read.
   */
  readAll(from: number, count: number): Promise<number>;
  /** Reads a whole stream in order. Resolves with how many events were read. */
  readStream(stream: string): Promise<number>;
  close(): Promise<void>;
}

/** A kind of store the benchmark can open, on one database engine. */
export interface StorePeerFactory {
  /** Name and version as printed, e.g. `Emmett 0.42.0`. */
  readonly name: string;
  /** The engines it runs on. */
  readonly engines: readonly StoreTarget['kind'][];
  /** How the store is set up on each engine (driver, durability, pool), printed with results. */
  readonly notes: Partial<Record<StoreTarget['kind'], string>>;
  open(target: StoreTarget): Promise<StorePeer>;
}
