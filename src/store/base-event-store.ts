import type { RecordedEvent } from '../core/envelope.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { StoreClosedError } from '../core/errors.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  DeleteStreamOptions,
  EventStore,
  EventStoreOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StreamInfo,
  StreamMetadata,
} from './event-store.js';
import type { EventInput } from '../core/envelope.js';
import { Deleted, type StreamState } from './append-plan.js';
import { AppendQueue, type UnitResult } from './append-queue.js';
import {
  allWindow,
  checkReadStream,
  pagedIterable,
  streamWindow,
  type AllWindow,
  type StreamWindow,
} from './reading.js';
import {
  DEFAULT_MAX_EVENT_BYTES,
  assertStreamName,
  prepareAppend,
  prepareAppendMany,
  prepareStreamMetadata,
  type PreparedAppend,
} from './validation.js';

/** A stream's stored row, as adapters load it. */
export interface StoredStream {
  state: StreamState;
  metadata: StreamMetadata;
}

/**
 * The part of every adapter that is not about its database: argument checking, group commit,
 * paging, and the closed state. Adapters supply the storage primitives.
 */
export abstract class BaseEventStore implements EventStore {
  protected readonly clock: Clock;
  protected readonly maxEventBytes: number;
  private closed = false;
  private readonly queue: AppendQueue;

  protected constructor(options: EventStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.queue = new AppendQueue((units) => this.writeBatch(units));
  }

  /** Writes a batch of units in one transaction (see `planAppends`). */
  protected abstract writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]>;
  /** Loads a stream's row, or undefined if it has none. */
  protected abstract loadStream(stream: string): Promise<StoredStream | undefined>;
  /** One page of a stream read, starting at revision `next` (see {@link StreamWindow}). */
  protected abstract fetchStreamPage(
    stream: string,
    window: StreamWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]>;
  /** One page of the global log, starting at position `next`. */
  protected abstract fetchAllPage(
    window: AllWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]>;
  protected abstract deleteStreamNow(stream: string, options: DeleteStreamOptions): Promise<void>;
  protected abstract setStreamMetadataNow(stream: string, metadataJson: string): Promise<void>;
  protected abstract readHeadPosition(): Promise<number>;
  protected abstract release(): Promise<void>;

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  protected assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  async append(
    stream: string,
    events: readonly EventInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    const prepared = prepareAppend(
      stream,
      events,
      options.expectedRevision === undefined ? 'any' : options.expectedRevision,
      this.maxEventBytes,
    );
    const [result] = await this.queue.enqueue([prepared]);
    if (!result) throw new Error('internal: append produced no result');
    return result;
  }

  async appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    this.assertOpen();
    return this.queue.enqueue(prepareAppendMany(requests, this.maxEventBytes));
  }

  readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    checkReadStream(stream, options);
    return pagedIterable(options.limit ?? Number.MAX_SAFE_INTEGER, () => {
      let window: StreamWindow | undefined;
      let next = 0;
      let loaded = false;
      return async (size) => {
        this.assertOpen();
        if (!loaded) {
          loaded = true;
          const row = await this.loadStream(stream);
          window = streamWindow(stream, row?.state, row?.metadata ?? {}, options, this.clock.now());
          if (window) next = window.start;
        }
        if (!window || (window.forward ? next > Number.MAX_SAFE_INTEGER : next < window.lowest))
          return [];
        const page = await this.fetchStreamPage(stream, window, next, size);
        const last = page[page.length - 1];
        if (last) next = window.forward ? last.revision + 1 : last.revision - 1;
        return page;
      };
    });
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    const window = allWindow(options);
    return pagedIterable(window.limit, () => {
      let next = window.start;
      return async (size) => {
        if (window.forward ? next > Number.MAX_SAFE_INTEGER - 1 : next < 1) return [];
        this.assertOpen();
        const page = await this.fetchAllPage(window, next, size);
        const last = page[page.length - 1];
        if (last) next = window.forward ? last.position + 1 : last.position - 1;
        return page;
      };
    });
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.readHeadPosition();
  }

  async streamInfo(stream: string): Promise<StreamInfo> {
    this.assertOpen();
    assertStreamName(stream);
    const row = await this.loadStream(stream);
    const revision = row && row.state.revision >= 0 ? row.state.revision : null;
    const deleted =
      row?.state.deleted === Deleted.hard
        ? 'hard'
        : row?.state.deleted === Deleted.soft
          ? 'soft'
          : false;
    return {
      stream,
      exists: revision !== null && deleted === false,
      revision,
      deleted,
      metadata: row?.metadata ?? {},
    };
  }

  async deleteStream(stream: string, options: DeleteStreamOptions = {}): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    // Deletes wait for queued appends so they apply in the order they were called.
    await this.queue.drained();
    await this.deleteStreamNow(stream, options);
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    const json = prepareStreamMetadata(metadata);
    await this.queue.drained();
    await this.setStreamMetadataNow(stream, json);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drained();
    await this.release();
  }
}
