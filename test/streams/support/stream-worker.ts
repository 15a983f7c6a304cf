// Child process for the stream-job crash test: counts readings per key in tumbling windows
// and appends one derived event per closed window, checkpointed in the same SQLite
// transaction. Prints "handled <position>" once an element is processed (not yet committed)
// and "position <position>" once a checkpoint commits. Usage:
//   stream-worker <file> <run|until-caught-up>
import {
  SqliteEventStore,
  sqliteStreamStateStore,
  type SqliteTransaction,
} from '@causewayjs/sqlite';
import {
  StreamJob,
  callbackSink,
  count,
  storeSink,
  storeSource,
  tumbling,
  type RecordedEvent,
  type StreamStateStore,
} from '@causewayjs/core';

const [file, mode] = process.argv.slice(2);
if (!file || (mode !== 'run' && mode !== 'until-caught-up'))
  throw new Error('usage: stream-worker <file> <run|until-caught-up>');

const store = SqliteEventStore.open(file, { pollIntervalMs: 5 });
const inner = await sqliteStreamStateStore(store);
// Reports each committed checkpoint's position once its transaction has committed.
const states: StreamStateStore<SqliteTransaction> = {
  store: inner.store,
  load: (job) => inner.load(job),
  delete: (job, tx) => inner.delete(job, tx),
  list: () => inner.list(),
  claim: (job, owner, tx) => inner.claim(job, owner, tx),
  async save(job, checkpoint, tx) {
    await inner.save(job, checkpoint, tx);
    tx?.onCommit(() => process.stdout.write(`position ${String(checkpoint.position)}\n`));
  },
};

const job = new StreamJob<RecordedEvent, SqliteTransaction>({
  name: 'reading-counts',
  source: storeSource(store, { filter: { types: ['reading.taken'] }, live: mode === 'run' }),
  timestamp: 'data.at',
  watermark: { outOfOrdernessMs: 20 },
  maxFutureMs: Number.POSITIVE_INFINITY,
  checkpoints: states,
  batchSize: 10,
});
const counts = job.input
  .map((e) => {
    process.stdout.write(`handled ${e.position}\n`);
    return e;
  })
  .keyBy((e) => (e.data as { key: string }).key)
  .window(tumbling({ size: 100 }))
  .aggregate(count());
counts.to(
  storeSink({
    store,
    stream: (r) => `reading-counts-${r.key}`,
    event: (r) => ({
      type: 'readings.counted',
      data: { key: r.key, start: r.window.start, count: r.value },
    }),
  }),
);
if (mode === 'run') {
  // Stands for real work inside the transaction, so the kill lands mid-checkpoint.
  job.input.to(callbackSink(() => new Promise<void>((resolve) => setTimeout(resolve, 2))));
}
if (mode === 'until-caught-up') {
  await job.run();
  await store.close();
  process.stdout.write('done\n');
} else {
  await job.start();
}
