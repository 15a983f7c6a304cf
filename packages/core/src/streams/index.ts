/** Stream processing: event-time windows, watermarks, joins, patterns (CEP), exactly-once jobs. */
export { StreamJob, partitionOfKey } from './stream-job.js';
export type {
  StreamJobPartition,
  StreamJobLogger,
  StreamJobOptions,
  StreamJobState,
  StreamJobStatus,
  TimestampOption,
  WatermarkOptions,
} from './stream-job.js';
export type { StreamJobLeaseOptions } from './stream-job-lease.js';
export {
  PartitionedStreamJob,
  partitionCheckpoints,
  partitionJobName,
  PARTITIONED_JOB_GROUP_PREFIX,
} from './partitioned-stream-job.js';
export type {
  PartitionCheckpoint,
  PartitionedStreamJobOptions,
  PartitionedStreamJobStatus,
} from './partitioned-stream-job.js';
export { partitionedOutputSource } from './partitioned-output-source.js';
export type { PartitionedOutputSourceOptions } from './partitioned-output-source.js';
export { Stream, KeyedStream, WindowedStream } from './stream.js';
export type { OperatorOptions } from './stream.js';
export type { Key, LateElement, InvalidElement, InvalidReason, TimedOutMatch } from './operator.js';
export { tumbling, sliding, session, countWindow, minutes, seconds } from './window-assigners.js';
export type {
  CountWindows,
  SessionWindows,
  SlidingWindows,
  TimeWindow,
  TumblingWindows,
  WindowAssigner,
} from './window-assigners.js';
export type { EmitMode, WindowOptions, WindowResult } from './window-result.js';
export { windowStart } from './window-math.js';
export { count, sum, average, maxBy, minBy, toList, reducing } from './aggregate.js';
export type { AggregateFunction } from './aggregate.js';
export type { ProcessContext, ProcessFunction } from './process-operator.js';
export { Pattern } from './pattern.js';
export type {
  Contiguity,
  PatternCondition,
  PatternContext,
  PatternStage,
  SkipStrategy,
} from './pattern.js';
export type { PatternMatch } from './pattern-operator.js';
export { arraySource, iterableSource, storeSource, queueSource } from './stream-source.js';
export { busSource } from './bus-source.js';
export type { BusSourceOptions } from './bus-source.js';
export type {
  QueueSource,
  SourceBatch,
  SourcePosition,
  SourceReadOptions,
  StoreSourceOptions,
  StreamSource,
} from './stream-source.js';
export { collectSink, callbackSink, storeSink } from './stream-sink.js';
export type { CollectSink, SinkContext, StoreSinkOptions, StreamSink } from './stream-sink.js';
export { memoryStreamStateStore, MemoryStreamStateStore } from './memory-stream-state-store.js';
export {
  assertJobName,
  assertCheckpointData,
  encodePosition,
  decodePosition,
  MAX_STREAM_JOB_NAME_LENGTH,
  END_OF_EVENT_TIME,
} from './stream-state-store.js';
export type {
  StreamCheckpoint,
  StreamCheckpointData,
  StreamStateStore,
} from './stream-state-store.js';
export { encodeState, decodeState } from './state-codec.js';
export {
  StreamErrorCode,
  InvalidWindowError,
  InvalidPatternError,
  InvalidStreamDefinitionError,
  StreamJobStateError,
  StreamStateMismatchError,
  StreamStateNotJsonError,
  StreamCommitFailedError,
  StreamOperatorError,
  StreamWaitTimeoutError,
  StreamSourceStoppedError,
  StreamJobLeasedError,
  StreamJobFencedError,
} from './stream-errors.js';
