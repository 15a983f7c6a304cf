// Child process for the bridge crash test: bridges a SQLite source into a PostgreSQL target
// with a StoreBridge; prints "appended <position>" once the target append of a batch ending
// at that source position has committed (the source checkpoint not yet), and "position
// <position>" once the source checkpoint reaches it. Usage:
//   bridge-worker <sqlite file> <postgres schema> <run|until-caught-up>
// "run" keeps going (pausing after each target append, so a kill lands between the target
// append and the source checkpoint) until killed; "until-caught-up" stops at the head.
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreBridge } from '../../src/federation/store-bridge.js';
import { openBackend } from '../../src/open-backend.js';
import type { AppendRequest } from '../../src/store/event-store.js';
import { shopToSales } from '../federation/bridge-fixtures.js';
import { pgUrl } from './postgres.js';

const [file, schema, mode] = process.argv.slice(2);
if (!file || !schema || !mode)
  throw new Error('usage: bridge-worker <sqlite file> <postgres schema> <run|until-caught-up>');

const source = await openBackend(`sqlite:${file}`);
const target = await openBackend(pgUrl, { schema });
const bridge = new StoreBridge({
  name: 'shop-to-sales',
  source: await source.subscriptionStorage(),
  target: {
    async appendMany(requests: readonly AppendRequest[]) {
      const results = await target.store.appendMany(requests);
      const last = requests.at(-1)?.events.at(-1)?.metadata?.origin as { position: number };
      process.stdout.write(`appended ${last.position}\n`);
      if (mode === 'run') await sleep(15);
      return results;
    },
  },
  translation: shopToSales,
  batchSize: 25,
  // A killed predecessor leaves its lease behind: wait for it to expire.
  lease: { ttlMs: 1000, wait: true, retryIntervalMs: 50 },
});
let last = -1;
bridge.onStatus((status) => {
  if (status.position !== last) {
    last = status.position;
    process.stdout.write(`position ${status.position}\n`);
  }
  if (status.state === 'stopped' && status.error)
    process.stderr.write(`stopped: ${status.error.stack ?? status.error.message}\n`);
});
await bridge.start();
if (mode === 'until-caught-up') {
  await bridge.waitForPosition(await source.store.headPosition(), { timeoutMs: 60_000 });
  await bridge.stop();
  await source.close();
  await target.close();
  process.stdout.write('done\n');
}
