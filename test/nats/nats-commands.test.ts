import type { NatsConnection } from '@nats-io/transport-node';
import { describe } from 'vitest';
import { NatsCommandDispatcher, serveNatsCommands } from '@causewayjs/nats';
import { describeCommandsConformance, type CommandsHarness } from '@causewayjs/testing';
import { connectNats, natsAvailable, randomNatsName } from '../support/nats.js';

const available = await natsAvailable();

/** Commands over NATS request/reply, on two connections (and one more per `apart` responder). */
async function openHarness(): Promise<CommandsHarness> {
  const prefix = `cmd.${randomNatsName()}`;
  const client = await connectNats();
  const server = await connectNats();
  const others: NatsConnection[] = [];
  return {
    dispatcher(options = {}) {
      return new NatsCommandDispatcher({ connection: client, prefix, ...options });
    },
    serve(handle, options = {}) {
      const start = (nc: NatsConnection) => {
        const responder = serveNatsCommands({
          connection: nc,
          prefix,
          handle,
          ...(options.types === undefined ? {} : { types: options.types }),
        });
        return nc.flush().then(() => responder);
      };
      if (!options.apart) return start(server);
      // A responder of the queue group on a connection of its own, so the group visibly shares.
      return connectNats().then((nc) => {
        others.push(nc);
        return start(nc);
      });
    },
    async requestRaw(token, text) {
      const reply = await client.request(`${prefix}.${token}`, text, { timeout: 2000 });
      return reply.string();
    },
    async answerRaw(type, text) {
      const sub = server.subscribe(`${prefix}.${type}`, {
        callback: (_e, msg) => {
          msg.respond(text);
        },
      });
      await server.flush();
      return () => Promise.resolve(sub.unsubscribe());
    },
    async closedDispatcher() {
      const closing = await connectNats();
      await closing.close();
      return new NatsCommandDispatcher({ connection: closing, prefix });
    },
    async cleanup() {
      for (const nc of others.splice(0)) await nc.close();
      await client.close();
      await server.close();
    },
  };
}

describe.skipIf(!available)('commands over NATS request/reply', () => {
  describeCommandsConformance('nats', openHarness);
});
