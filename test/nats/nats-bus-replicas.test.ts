import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusUnavailableError, InvalidArgumentError } from '@causewayjs/core';
import { NatsMessageBus } from '@causewayjs/nats';
import { connectNats, deleteNatsStream, natsAvailable, randomNatsName } from '../support/nats.js';

const available = await natsAvailable();

describe.skipIf(!available)('NatsMessageBus replicas', () => {
  let nc: NatsConnection;
  let stream: string;

  beforeEach(async () => {
    nc = await connectNats();
    stream = randomNatsName('REPL');
  });
  afterEach(async () => {
    await deleteNatsStream(nc, stream);
    await nc.close();
  });

  it('refuses a replica count outside 1 to 5', async () => {
    for (const replicas of [0, 6, 1.5, Number.NaN])
      await expect(NatsMessageBus.open({ connection: nc, stream, replicas })).rejects.toMatchObject(
        { name: InvalidArgumentError.name, code: 'INVALID_ARGUMENT' },
      );
  });

  it('creates the stream with the replicas asked for', async () => {
    const bus = await NatsMessageBus.open({ connection: nc, stream, replicas: 1 });
    await bus.close();
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    expect(info.config.num_replicas).toBe(1);
  });

  it('asks the server for R3: a single server refuses it (BusUnavailableError), a cluster keeps three copies', async () => {
    const opening = NatsMessageBus.open({ connection: nc, stream, replicas: 3 });
    if (nc.info?.cluster === undefined) {
      await expect(opening).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(opening).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE' });
    } else {
      await (await opening).close();
      const info = await (await jetstreamManager(nc)).streams.info(stream);
      expect(info.config.num_replicas).toBe(3);
    }
  });
});
