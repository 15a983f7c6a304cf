// Child process for the bridge crash test: bridges a SQLite source into a PostgreSQL target
// with a StoreBridge; prints "appended <position>" once the target append of the source event
// at that position has committed (the source checkpoint not yet), and "position <position>"
// once the source checkpoint reaches it. Usage:
//   bridge-worker <sqlite file> <postgres schema> <hang-at> <run|until-caught-up>
// "run" goes on until it has appended the event at <hang-at> or later, then holds still until
// killed: the kill lands between that target append and the source checkpoint that would
// cover it. "until-caught-up" stops cleanly at the head.
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreBridge, openBackend, type AppendRequest } from '@causewayjs/core';
import { shopToSales } from '../federation/bridge-fixtures.js';
import { pgUrl } from './postgres.js';

const [file, schema, hangAt, mode] = process.argv.slice(2);
if (!file || !schema || !hangAt || !mode)
  throw new Error(
    'usage: bridge-worker <sqlite file> <postgres schema> <hang-at> <run|until-caught-up>',
  );

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
      if (mode === 'run' && last.position >= Number(hangAt)) await sleep(600_000);
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
