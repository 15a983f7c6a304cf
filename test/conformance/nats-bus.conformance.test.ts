import { describe } from 'vitest';
import { NatsMessageBus, type NatsWireFormat } from '@causewayjs/nats';
import { connectNats, deleteNatsStream, natsAvailable, randomNatsName } from '../support/nats.js';
import { describeMessageBusConformance, type MessageBusHarness } from '@causewayjs/testing';

const available = await natsAvailable();

async function openBus(wireFormat: NatsWireFormat): Promise<MessageBusHarness> {
  const nc = await connectNats();
  const stream = randomNatsName('BUS');
  // Pull one message at a time so members of a group visibly share the work.
  const bus = await NatsMessageBus.open({
    connection: nc,
    stream,
    prefix: stream.toLowerCase(),
    prefetch: 1,
    storage: 'memory',
    wireFormat,
  });
  return {
    bus,
    maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024,
    cleanup: async () => {
      await deleteNatsStream(nc, stream);
      await nc.close();
    },
  };
}

describe.skipIf(!available)('nats', () => {
  describeMessageBusConformance('nats', () => openBus('causeway'));
  // The same contract with events written as CloudEvents in binary mode.
  describeMessageBusConformance('nats (cloudevents-binary wire format)', () =>
    openBus('cloudevents-binary'),
  );
});
