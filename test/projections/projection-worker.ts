// Child process of the projection crash test: runs the async balances projection on a SQLite
// file; prints "applied <position>" once an event's rows are written (not yet committed) and
// "position <position>" whenever the projection's committed progress moves. Usage:
//   projection-worker <file> <run|until-caught-up>
// "run" keeps going until killed; "until-caught-up" stops cleanly at the head and exits.
import { BALANCES, openBalances } from './balance-projection.js';

const [file, mode] = process.argv.slice(2);
if (!file || (mode !== 'run' && mode !== 'until-caught-up'))
  throw new Error('usage: projection-worker <file> <run|until-caught-up>');

const { store, projector } = await openBalances(file, {
  delayMs: mode === 'run' ? 1 : 0,
  onApplied: (position) => process.stdout.write(`applied ${position}\n`),
  subscription: {
    batchSize: 10,
    // A killed predecessor leaves its lease behind: wait for it to expire.
    lease: { ttlMs: 1000, wait: true, retryIntervalMs: 50 },
  },
});
await projector.start();
const [subscription] = projector.subscriptions(BALANCES);
if (!subscription) throw new Error('the projection runs no subscription');
let last = -1;
subscription.onStatus((status) => {
  if (status.position !== last) {
    last = status.position;
    process.stdout.write(`position ${status.position}\n`);
  }
  if (status.state === 'stopped' && status.error)
    process.stderr.write(`stopped: ${status.error.stack ?? status.error.message}\n`);
});
if (mode === 'until-caught-up') {
  await projector.waitFor(BALANCES, await store.headPosition(), { timeoutMs: 120_000 });
  await projector.stop();
  await store.close();
  process.stdout.write('done\n');
}
