// Child process for the stream-job fencing test: one instance of the reading-counts job over a
// SQLite file, with a lease (1 s, waiting for it) and the fence. Prints "commit <p> <epoch>"
// after each commit, then "done" (exit 0), or "fenced" (exit 3) when another instance took
// the job over. With a pause, it stops itself (SIGSTOP:
// frozen like a process in a long GC pause or a suspended VM) just before its <n>th
// transaction, after printing "pausing"; sent SIGCONT, it goes on with that commit. Usage:
//   fenced-stream-worker <file> <owner> [<n>]
import { StreamJobFencedError, openBackend, withMembers } from '@causewayjs/core';
import { pauseBeforeTransaction, readingCountsJob } from './reading-counts.js';

const [file, owner, pauseAt] = process.argv.slice(2);
if (!file || !owner) throw new Error('usage: fenced-stream-worker <file> <owner> [<n>]');

const backend = await openBackend(`sqlite:${file}`, { pollIntervalMs: 5 });
const leases = (await backend.subscriptionStorage()).leases;
const stored = await backend.streamStateStore();
// Reports each checkpoint once its transaction has committed.
let states = withMembers(stored, {
  async save(job, checkpoint, tx) {
    await stored.save(job, checkpoint, tx);
    tx?.onCommit(() =>
      process.stdout.write(`commit ${String(checkpoint.position)} ${String(checkpoint.epoch)}\n`),
    );
  },
});
if (pauseAt !== undefined) {
  const pausing = pauseBeforeTransaction(states, Number(pauseAt));
  states = pausing.states;
  void pausing.paused.then(() => {
    process.stdout.write('pausing\n');
    process.kill(process.pid, 'SIGSTOP');
    pausing.resume();
  });
}

const job = readingCountsJob(backend.store, states, {
  owner,
  lease: { leases, ttlMs: 1000, wait: true, retryIntervalMs: 20 },
});
try {
  await job.run();
  process.stdout.write('done\n');
} catch (error) {
  if (!(error instanceof StreamJobFencedError)) throw error;
  process.stdout.write('fenced\n');
  process.exitCode = 3;
} finally {
  await backend.close();
}
