// Child process for the relay crash test: runs an outbox relay from a SQLite file store to a
// NATS JetStream stream. Prints "published <p>" once the broker acknowledged everything up to
// p (not yet checkpointed) and "position <p>" once the checkpoint is saved. Usage:
//   relay-worker <file> <nats-url> <stream> <prefix> <run|until-caught-up>
import { connect } from '@nats-io/transport-node';
import { NatsMessageBus } from '@causewayjs/nats';
import { SqliteEventStore, sqliteSubscriptionStorage } from '@causewayjs/sqlite';
import { OutboxRelay } from '@causewayjs/core';

const [file, url, stream, prefix, mode] = process.argv.slice(2);
if (!file || !url || !stream || !prefix || !mode)
  throw new Error('usage: relay-worker <file> <nats-url> <stream> <prefix> <run|until-caught-up>');

const store = SqliteEventStore.open(file);
const storage = await sqliteSubscriptionStorage(store);
const nc = await connect({ servers: url });
const bus = await NatsMessageBus.open({ connection: nc, stream, prefix });
const relay = new OutboxRelay({
  storage,
  bus,
  batchSize: 100,
  maxInFlight: 50,
  // A killed predecessor leaves its lease behind: wait for it to expire.
  lease: { ttlMs: 1000, wait: true, retryIntervalMs: 50 },
});
let published = -1;
let position = -1;
relay.onStatus((status) => {
  if (status.publishedThrough !== published) {
    published = status.publishedThrough;
    process.stdout.write(`published ${published}\n`);
  }
  if (status.position !== position) {
    position = status.position;
    process.stdout.write(`position ${position}\n`);
  }
  if (status.state === 'stopped' && status.error)
    process.stderr.write(`stopped: ${status.error.stack ?? status.error.message}\n`);
});
await relay.start();
if (mode === 'until-caught-up') {
  await relay.waitForPosition(await store.headPosition(), { timeoutMs: 120_000 });
  await relay.stop();
  await bus.close();
  await nc.close();
  await store.close();
  process.stdout.write('done\n');
}
