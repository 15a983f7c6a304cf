/**
 * A member process of the bus-scale benchmark, kept alive across trials so that process
 * start-up is never timed. Commands come as JSON lines on stdin:
 * - `{ "cmd": "open", ... }`: opens the trial's PostgreSQL schema and NATS stream; prints `opened`;
 * - `{ "cmd": "go" }`: joins the consumer group, whose handler writes one effect row per message
 *   through `inboxHandler`; prints `joined`;
 * - `{ "cmd": "close" }`: leaves the group, closes both; prints `closed`.
 */
import { createInterface } from 'node:readline';
import { escapeIdentifier } from 'pg';
import { inboxHandler } from '@causewayjs/core';
import { NatsMessageBus } from '@causewayjs/nats';
import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';

interface OpenCommand {
  cmd: 'open';
  pgUrl: string;
  schema: string;
  natsUrl: string;
  stream: string;
  prefix: string;
  member: string;
  prefetch: number;
}

let open: { store: PostgresEventStore; bus: NatsMessageBus; command: OpenCommand } | undefined;

async function handle(line: string): Promise<void> {
  const command = JSON.parse(line) as OpenCommand | { cmd: 'go' | 'close' };
  if (command.cmd === 'open') {
    const store = await PostgresEventStore.open(command.pgUrl, {
      schema: command.schema,
      maxConnections: 2,
    });
    const bus = await NatsMessageBus.connect(command.natsUrl, {
      stream: command.stream,
      prefix: command.prefix,
      prefetch: command.prefetch,
    });
    open = { store, bus, command };
    process.stdout.write('opened\n');
  } else if (command.cmd === 'go' && open) {
    const { store, bus, command: o } = open;
    const effects = `${escapeIdentifier(o.schema)}.effects`;
    await bus.subscribe({
      group: 'work',
      subjects: ['job.>'],
      handler: inboxHandler(await postgresSubscriptionStorage(store), 'work', async (e, { tx }) => {
        await tx.client.query(`INSERT INTO ${effects} (event_id, member) VALUES ($1, $2)`, [
          e.id,
          o.member,
        ]);
      }),
    });
    process.stdout.write('joined\n');
  } else if (command.cmd === 'close' && open) {
    await open.bus.close();
    await open.store.close();
    open = undefined;
    process.stdout.write('closed\n');
  }
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue
    .then(() => handle(line))
    .catch((error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    });
});
process.stdout.write('started\n');
