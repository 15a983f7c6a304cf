// Child process of the partitioned projection kill test: one projector, a member of the
// projection's consumer group. Prints
//   running <json array>   the partitions it runs, whenever that changes
//   applied <n>            after each event's rows are written (uncommitted)
//   stopped                after a clean stop on SIGTERM
// Usage: partitioned-projection-worker <schema> <member>
import { Projector } from '@causewayjs/core';
import {
  PostgresEventStore,
  postgresGroupMembership,
  postgresProjectionStore,
} from '@causewayjs/postgres';
import { pgUrl } from '../support/postgres.js';
import { KILL_PARTITIONS, KILL_PROJECTION, customerTotals } from './partitioned-projection.js';

const [schema, memberId] = process.argv.slice(2);
if (!schema || !memberId) throw new Error('usage: partitioned-projection-worker <schema> <member>');

const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
let applied = 0;
const projector = new Projector({
  store: await postgresProjectionStore(store),
  projections: [customerTotals(memberId, () => process.stdout.write(`applied ${++applied}\n`), 2)],
  partitions: {
    count: KILL_PARTITIONS,
    membership: await postgresGroupMembership(store),
    memberId,
    leaseTtlMs: 2000,
    heartbeatIntervalMs: 200,
    partitionKey: (event) => `customer-${(event.data as { customer: number }).customer}`,
  },
});
await projector.start();
let last = '';
const report = setInterval(() => {
  projector.status(KILL_PROJECTION).then(
    (status) => {
      const running = JSON.stringify(
        (status.partitions ?? []).filter((p) => p.runningHere).map((p) => p.partition),
      );
      if (running !== last) process.stdout.write(`running ${(last = running)}\n`);
    },
    (error: unknown) => process.stderr.write(`status: ${String(error)}\n`),
  );
}, 50);
process.on('SIGTERM', () => {
  void (async () => {
    clearInterval(report);
    await projector.stop();
    await store.close();
    process.stdout.write('stopped\n');
    process.exit(0);
  })();
});
