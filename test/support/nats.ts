import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

/** The server NATS tests use: `CAUSEWAY_NATS_URL`, or a local default with JetStream. */
export const natsUrl = process.env.CAUSEWAY_NATS_URL ?? 'nats://127.0.0.1:4222';

let probe: Promise<boolean> | undefined;

/**
 * Whether the test server answers with JetStream enabled, probed once per test file. When it
 * does not: under `CI=true` this throws (a CI run must not pass by skipping); elsewhere it
 * prints one line naming the URL and returns false, and the caller skips its tests.
 */
export function natsAvailable(): Promise<boolean> {
  probe ??= (async () => {
    let reason: string | undefined;
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: natsUrl, timeout: 3000, reconnect: false });
      const jsm = await jetstreamManager(nc, { timeout: 3000 });
      await jsm.getAccountInfo();
    } catch (error) {
      reason = error instanceof Error ? error.message || error.constructor.name : String(error);
    } finally {
      await nc?.close().catch(() => undefined);
    }
    if (reason === undefined) return true;
    const message = `NATS JetStream at ${natsUrl} is unreachable (${reason}); set CAUSEWAY_NATS_URL`;
    if (process.env.CI === 'true') throw new Error(message);
    console.warn(`SKIPPING NATS tests: ${message}`);
    return false;
  })();
  return probe;
}

/** A fresh name (stream, prefix, group) no other test uses: letters and digits only. */
export function randomNatsName(base = 'test'): string {
  return `${base}${randomBytes(5).toString('hex')}`;
}

/** Connects to the test server. */
export function connectNats(): Promise<NatsConnection> {
  return connect({ servers: natsUrl, timeout: 3000 });
}

/** Deletes a JetStream stream (and its consumers), ignoring one that is already gone. */
export async function deleteNatsStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => undefined);
}
