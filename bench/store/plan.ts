import { newId } from '@causewayjs/core';
import type { BenchEvent } from '../peers/store-peer.js';
import { benchEvent } from './event-data.js';
import type { StoreSizes } from './sizes.js';

/** One append of a workload, with the exact revision the stream is expected to be at. */
export interface PlannedAppend {
  stream: string;
  events: BenchEvent[];
  /** Revision of the stream's last event before this append; -1 for a new stream. */
  expectedRevision: number;
}

/** A row of the raw baseline tables: the same columns as the adapters' events table. */
export interface RawRow {
  position: number;
  id: string;
  stream: string;
  revision: number;
  type: string;
  /** JSON text, exactly what was appended. */
  data: string;
  metadata: string;
  schemaVersion: number;
  recordedAt: number;
}

/**
 * A raw row before encoding: the event's data and metadata as plain objects and no id yet,
 * for a baseline that encodes inside its timed loop as the store does.
 */
export interface PlainRow extends Omit<RawRow, 'id' | 'data' | 'metadata'> {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Everything the store workloads write, fixed before any timing starts. */
export interface StorePlan {
  sequential: PlannedAppend[];
  batched: PlannedAppend[];
  /** One list of appends per writer; each writer owns its streams. */
  concurrent: PlannedAppend[][];
  longStream: PlannedAppend[];
  /** Name of the stream workload 5 reads. */
  longStreamName: string;
  /** The same events as rows, in the order the phases write them. */
  rows: {
    sequential: RawRow[];
    batched: RawRow[];
    /** Workload 2's rows again, not yet encoded (same positions, streams and revisions). */
    batchedPlain: PlainRow[];
    /** Workload 3's rows, one list per writer (the raw group-commit baseline writes them). */
    concurrent: RawRow[][];
    /** Rows written without timing, so the raw table ends up holding what the store holds. */
    rest: RawRow[];
  };
}

/** Appends per long-stream write (it is set up, not timed). */
const LONG_STREAM_BATCH = 100;

/** Builds the plan for the given sizes. Event data is deterministic; ids are fresh. */
export function buildPlan(sizes: StoreSizes): StorePlan {
  let n = 0;
  const nextEvent = (): BenchEvent => benchEvent(n++);

  const sequential: PlannedAppend[] = [];
  const { appends: seqAppends, streams } = sizes.sequential;
  for (let i = 0; i < seqAppends; i++) {
    const revision = Math.floor(i / streams);
    sequential.push({
      stream: `seq-${i % streams}`,
      events: [nextEvent()],
      expectedRevision: revision - 1,
    });
  }

  const batched: PlannedAppend[] = [];
  for (let i = 0; i < sizes.batched.appends; i++) {
    const events = Array.from({ length: sizes.batched.eventsPerAppend }, nextEvent);
    batched.push({ stream: `batch-${i}`, events, expectedRevision: -1 });
  }

  const { writers, appends: concAppends, streamsPerWriter } = sizes.concurrent;
  const concurrent: PlannedAppend[][] = [];
  for (let w = 0; w < writers; w++) {
    const count = Math.floor(concAppends / writers) + (w < concAppends % writers ? 1 : 0);
    const mine: PlannedAppend[] = [];
    for (let i = 0; i < count; i++) {
      mine.push({
        stream: `conc-${w}-${i % streamsPerWriter}`,
        events: [nextEvent()],
        expectedRevision: Math.floor(i / streamsPerWriter) - 1,
      });
    }
    concurrent.push(mine);
  }

  const longStreamName = 'long-0';
  const longStream: PlannedAppend[] = [];
  for (let r = 0; r < sizes.longStream; r += LONG_STREAM_BATCH) {
    const size = Math.min(LONG_STREAM_BATCH, sizes.longStream - r);
    longStream.push({
      stream: longStreamName,
      events: Array.from({ length: size }, nextEvent),
      expectedRevision: r - 1,
    });
  }

  let position = 0;
  const recordedAt = Date.now();
  const toPlainRows = (appends: readonly PlannedAppend[]): PlainRow[] =>
    appends.flatMap((a) =>
      a.events.map((e, i) => ({
        position: ++position,
        stream: a.stream,
        revision: a.expectedRevision + 1 + i,
        type: e.type,
        data: e.data,
        metadata: {},
        schemaVersion: 1,
        recordedAt,
      })),
    );
  const encode = (plain: readonly PlainRow[]): RawRow[] =>
    plain.map((r) => ({
      position: r.position,
      id: newId(),
      stream: r.stream,
      revision: r.revision,
      type: r.type,
      data: JSON.stringify(r.data),
      metadata: JSON.stringify(r.metadata),
      schemaVersion: r.schemaVersion,
      recordedAt: r.recordedAt,
    }));
  const toRows = (appends: readonly PlannedAppend[]): RawRow[] => encode(toPlainRows(appends));
  const sequentialRows = toRows(sequential);
  const batchedPlain = toPlainRows(batched);
  return {
    sequential,
    batched,
    concurrent,
    longStream,
    longStreamName,
    rows: {
      sequential: sequentialRows,
      batched: encode(batchedPlain),
      batchedPlain,
      concurrent: concurrent.map(toRows),
      rest: toRows(longStream),
    },
  };
}

/** How many events a list of appends carries. */
export function eventCount(appends: readonly PlannedAppend[]): number {
  return appends.reduce((sum, a) => sum + a.events.length, 0);
}
