// Child process of the bus work-distribution test: one member of a NATS JetStream consumer
// group whose handler writes an effect row in PostgreSQL through `inboxHandler`. Prints
//   waiting                     when told to join later, once it can be told (SIGUSR2)
//   ready                       once subscribed
//   delivered <id> <attempt>    for every delivery, before the inbox looks at it
//   committed <id>              once the effect and the inbox record are committed
//   holding <id>                after the <hold>-th commit: that message is never acknowledged
// Usage: nats-group-member <schema> <nats-url> <stream> <prefix> <member> <delayMs> <hold> <now|later>
// (<hold> 0: never hold; `later`: subscribe on SIGUSR2, so that a test can have a member join
// mid-run without waiting for a process to start).
import { escapeIdentifier } from 'pg';
import { NatsMessageBus } from '@causewayjs/nats';
import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';
import { inboxHandler } from '@causewayjs/core';
import { pgUrl } from '../support/postgres.js';

const [schema, url, stream, prefix, member, delayArg, holdArg, when] = process.argv.slice(2);
const delayMs = Number(delayArg);
const hold = Number(holdArg);
if (
  !schema ||
  !url ||
  !stream ||
  !prefix ||
  !member ||
  !Number.isFinite(delayMs + hold) ||
  (when !== 'now' && when !== 'later')
)
  throw new Error(
    'usage: nats-group-member <schema> <nats-url> <stream> <prefix> <member> <delayMs> <hold> <now|later>',
  );

/** The group every member process joins. */
const GROUP = 'effects';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
const storage = await postgresSubscriptionStorage(store);
const effects = `${escapeIdentifier(schema)}.effects`;
const bus = await NatsMessageBus.connect(url, {
  stream,
  prefix,
  // A killed member's messages come back to the others after this long.
  ackWaitMs: 1500,
  prefetch: 16,
});
const inbox = inboxHandler(storage, GROUP, async (event, { tx }) => {
  await tx.client.query(`INSERT INTO ${effects} (event_id, member) VALUES ($1, $2)`, [
    event.id,
    member,
  ]);
  // Inside the transaction: a SIGKILL here leaves an uncommitted effect behind.
  if (delayMs > 0) await pause(delayMs);
});
let commits = 0;
if (when === 'later') {
  const told = new Promise((resolve) => process.once('SIGUSR2', resolve));
  process.stdout.write('waiting\n');
  await told;
}
await bus.subscribe({
  group: GROUP,
  subjects: ['job.>'],
  handler: async (event, context) => {
    process.stdout.write(`delivered ${event.id} ${context.attempt}\n`);
    const result = await inbox(event, context);
    process.stdout.write(`committed ${event.id}\n`);
    if (++commits === hold) {
      // Committed in the database, never acknowledged to the broker: the case the inbox is for.
      process.stdout.write(`holding ${event.id}\n`);
      await new Promise<never>(() => undefined);
    }
    return result;
  },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void (async () => {
    await bus.close();
    await store.close();
    process.exit(0);
  })();
});
