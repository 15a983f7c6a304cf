// Child process of the saga crash test: runs the fulfilment saga on a SQLite file or a
// PostgreSQL schema with the shop's in-process dispatcher and prints "dispatched <n>" after
// each command its handler accepted (before the outbox records it as sent). Usage:
//   saga-crash-worker <sqlite|postgres> <file|schema> <clock ms> <run|until-caught-up>
// "run" keeps going until killed; "until-caught-up" runs until idle, stops and exits.
// Payment authorisations with method "slow" are taken and never answered (they time out).
import { ManualClock, SagaRuntime, type CommandDispatcher } from '@causewayjs/core';
import { createFulfilmentSaga, createShopDispatcher } from '../../examples/shop/fulfilment-saga.js';
import { openSagaBackend } from './saga-backend.js';

const [kind, location, clockMs, mode] = process.argv.slice(2);
if (
  (kind !== 'sqlite' && kind !== 'postgres') ||
  !location ||
  !clockMs ||
  (mode !== 'run' && mode !== 'until-caught-up')
)
  throw new Error(
    'usage: saga-crash-worker <sqlite|postgres> <file|schema> <clock ms> <run|until-caught-up>',
  );

const { store, storage, sagaStore } = await openSagaBackend(kind, location);
const shop = createShopDispatcher(store);
let dispatched = 0;
const dispatcher: CommandDispatcher = {
  async dispatch(command) {
    const data = command.data as { method?: string };
    const reply =
      command.type === 'payment.authorise' && data.method === 'slow'
        ? ({ status: 'accepted' } as const)
        : await shop.dispatch(command);
    dispatched += 1;
    process.stdout.write(`dispatched ${dispatched}\n`);
    return reply;
  },
};
const runtime = new SagaRuntime({
  storage,
  sagaStore,
  sagas: [createFulfilmentSaga({ paymentTimeoutMs: 30_000 })],
  dispatcher,
  clock: new ManualClock(Number(clockMs)),
  lease: false,
  outbox: { concurrency: 4, pollIntervalMs: 20 },
});
await runtime.start();
if (mode === 'until-caught-up') {
  await runtime.runUntilIdle({ timeoutMs: 120_000 });
  await runtime.stop();
  await store.close();
  process.stdout.write('done\n');
}
