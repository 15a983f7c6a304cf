// Child process for the subscription crash tests: projects balances with a checkpointed
// subscription; prints "handled <position>" once the handler has written an event's effects
// (not yet committed) and "position <position>" once a checkpoint is reached. Usage:
//   subscription-worker <sqlite|postgres> <file|schema> <run|until-caught-up>
// "run" keeps going until killed; "until-caught-up" stops cleanly at the head and exits.
import { openBalanceBackend } from './balance-projection.js';

const [kind, location, mode] = process.argv.slice(2);
if ((kind !== 'sqlite' && kind !== 'postgres') || !location || !mode)
  throw new Error(
    'usage: subscription-worker <sqlite|postgres> <file|schema> <run|until-caught-up>',
  );

const backend = await openBalanceBackend(kind, location);
await backend.setup('');
const subscription = backend.subscribe('balances', '', {
  batchSize: 10,
  delayMs: mode === 'run' ? 1 : 0,
  onHandled: (position) => process.stdout.write(`handled ${position}\n`),
  // A killed predecessor leaves its lease behind: wait for it to expire.
  lease: { ttlMs: 1000, wait: true, retryIntervalMs: 50 },
});
let last = -1;
subscription.onStatus((status) => {
  if (status.position !== last) {
    last = status.position;
    process.stdout.write(`position ${status.position}\n`);
  }
  if (status.state === 'stopped' && status.error)
    process.stderr.write(`stopped: ${status.error.stack ?? status.error.message}\n`);
});
await subscription.start();
if (mode === 'until-caught-up') {
  await subscription.waitForPosition(await backend.store.headPosition(), { timeoutMs: 120_000 });
  await subscription.stop();
  await backend.close();
  process.stdout.write('done\n');
}
