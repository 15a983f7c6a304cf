import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';

/** The broker RabbitMQ tests use: `CAUSEWAY_AMQP_URL`, or the local default. */
export const amqpUrl = process.env.CAUSEWAY_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

let probe: Promise<boolean> | undefined;

/**
 * Whether the test broker answers, probed once per test file. When it does not: under
 * `CI=true` this throws (a CI run must not pass by skipping); elsewhere it prints one line
 * naming the URL and returns false, and the caller skips its tests.
 */
export function rabbitMqAvailable(): Promise<boolean> {
  probe ??= (async () => {
    let reason: string | undefined;
    try {
      const connection = await connect(amqpUrl, { timeout: 3000 });
      await connection.close();
    } catch (error) {
      reason = error instanceof Error ? error.message || error.constructor.name : String(error);
    }
    if (reason === undefined) return true;
    const message = `RabbitMQ at ${amqpUrl.replace(/:[^:@/]*@/, ':***@')} is unreachable (${reason}); set CAUSEWAY_AMQP_URL`;
    if (process.env.CI === 'true') throw new Error(message);
    console.warn(`SKIPPING RabbitMQ tests: ${message}`);
    return false;
  })();
  return probe;
}

/** A fresh name (prefix, group) no other test uses: lower-case letters and digits. */
export function randomRabbitName(base = 'test'): string {
  return `${base}${randomBytes(5).toString('hex')}`;
}

/** Deletes queues and exchanges, ignoring those already gone (each on a channel of its own). */
export async function deleteRabbitTopology(
  topology: { exchanges: readonly string[]; queues: readonly string[] },
  url = amqpUrl,
): Promise<void> {
  const connection = await connect(url);
  try {
    for (const queue of topology.queues) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of topology.exchanges) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}
