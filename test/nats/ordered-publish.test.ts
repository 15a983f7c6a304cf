import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  BusSequenceMismatchError,
  OutboxRelay,
  decodeBusMessage,
  InvalidArgumentError,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';
import { connectNats, deleteNatsStream, natsAvailable, randomNatsName } from '../support/nats.js';

const available = await natsAvailable();

describe.skipIf(!available)('publishing in order on NATS JetStream', () => {
  let nc: NatsConnection;
  let stream: string;
  const buses: NatsMessageBus[] = [];
  const stores: MemoryEventStore[] = [];
  const relays: OutboxRelay[] = [];

  beforeEach(async () => {
    nc = await connectNats();
    stream = randomNatsName('ORDERED');
  });
  afterEach(async () => {
    for (const r of relays.splice(0)) await r.stop();
    for (const b of buses.splice(0)) await b.close();
    for (const s of stores.splice(0)) await s.close();
    await deleteNatsStream(nc, stream);
    await nc.close();
  });

  async function openBus(options: { duplicateWindowMs?: number } = {}) {
    const bus = await NatsMessageBus.open({
      connection: nc,
      stream,
      prefix: stream.toLowerCase(),
      ...options,
    });
    buses.push(bus);
    return bus;
  }

  /** The positions of the stream's messages, in stream order. */
  async function streamPositions(): Promise<(number | undefined)[]> {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const out: (number | undefined)[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      out.push(m ? decodeBusMessage(m.data)?.position : undefined);
    }
    return out;
  }

  it('checks the duplicate first, then the expected last sequence; tail says where the log ends', async () => {
    const bus = await openBus();
    expect(await bus.tail()).toEqual({ sequence: 0, last: undefined });
    const a = busEvent('order-1', 'order.placed');
    const b = busEvent('order-2', 'order.placed');
    expect(await bus.publish(a, { expectedLastSequence: 0 })).toMatchObject({
      sequence: 1,
      duplicate: false,
    });
    const refused = await bus.publish(b, { expectedLastSequence: 0 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BusSequenceMismatchError);
    expect(refused).toMatchObject({
      code: 'BUS_SEQUENCE_MISMATCH',
      eventId: b.id,
      expected: { expectedLastSequence: 0 },
    });
    expect((refused as Error).message).toMatch(/wrong last sequence: 1/);
    // A republished id is a duplicate whatever it expects: never refused, never stored twice.
    expect(await bus.publish(a, { expectedLastSequence: 7 })).toMatchObject({
      sequence: 1,
      duplicate: true,
    });
    expect(await bus.publish(b, { expectedLastSequence: 1 })).toMatchObject({ sequence: 2 });
    expect(await bus.tail()).toEqual({
      sequence: 2,
      last: { eventId: b.id, position: b.position },
    });
    // A last message that is not a Causeway envelope: the sequence, without an event; and a
    // publish expecting the last event to be b is refused, though the sequence matches.
    await jetstream(nc).publish(`${stream.toLowerCase()}.raw.thing`, 'not an envelope');
    expect(await bus.tail()).toEqual({ sequence: 3, last: undefined });
    const c = busEvent('order-3', 'order.placed');
    await expect(
      bus.publish(c, { expectedLastSequence: 3, expectedLastEventId: b.id }),
    ).rejects.toMatchObject({
      code: 'BUS_SEQUENCE_MISMATCH',
      expected: { expectedLastSequence: 3, expectedLastEventId: b.id },
    });
    expect(await bus.publish(c, { expectedLastSequence: 3 })).toMatchObject({ sequence: 4 });
    expect(
      await bus.publish(busEvent('order-4', 'x.y'), {
        expectedLastSequence: 4,
        expectedLastEventId: c.id,
      }),
    ).toMatchObject({ sequence: 5, duplicate: false });
    await expect(bus.publish(a, { expectedLastSequence: -1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(bus.publish(a, { expectedLastSequence: 1.5 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(bus.publish(a, { expectedLastEventId: '' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  for (const window of ['inside', 'past'] as const)
    it(`after a crash between ack and checkpoint, neither republishes twice nor breaks the chain (${window} the duplicate window)`, async () => {
      const bus = await openBus(window === 'past' ? { duplicateWindowMs: 100 } : {});
      const store = new MemoryEventStore();
      stores.push(store);
      const storage = memorySubscriptionStorage(store);
      const append = async (from: number, count: number) => {
        for (let i = from; i < from + count; i++)
          await store.append(`order-${i % 7}`, [{ type: 'order.placed', data: { i } }]);
      };
      await append(0, 100);
      const first = new OutboxRelay({ storage, bus, batchSize: 30, maxInFlight: 8 });
      relays.push(first);
      await first.start();
      await first.waitForPosition(100);
      await first.stop();
      // As if the process died after the broker acknowledged 41..100, before the checkpoint.
      await storage.checkpoints.save('outbox-relay', 40);
      if (window === 'past') {
        // The broker forgets ids after its window (a timer of its own): let it pass.
        const stoppedAt = Date.now();
        await eventually(() => Date.now() - stoppedAt > 400, 'the duplicate window to pass');
      }
      await append(100, 50);
      const second = new OutboxRelay({ storage, bus, batchSize: 30, maxInFlight: 8 });
      relays.push(second);
      await second.start();
      await second.waitForPosition(150);
      // 41..100 were in the stream already: acknowledged as duplicates, not stored again.
      expect(second.status()).toMatchObject({ published: 110, duplicates: 60, failures: 0 });
      expect(await streamPositions()).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    });

  it('goes on in order after something else published on the stream', async () => {
    const bus = await openBus();
    const store = new MemoryEventStore();
    stores.push(store);
    const storage = memorySubscriptionStorage(store);
    for (let i = 0; i < 20; i++)
      await store.append(`order-${i}`, [{ type: 'order.placed', data: null }]);
    const relay = new OutboxRelay({
      storage,
      bus,
      batchSize: 10,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    relays.push(relay);
    await relay.start();
    await relay.waitForPosition(20);
    const errors: unknown[] = [];
    relay.onStatus((st) => void (st.lastError && errors.push(st.lastError)));
    // The relay's chain expects sequence 20; a foreign message moves the log to 21.
    await bus.publish(busEvent('other-1', 'other.thing'));
    for (let i = 20; i < 40; i++)
      await store.append(`order-${i}`, [{ type: 'order.placed', data: null }]);
    await relay.waitForPosition(40);
    const positions = await streamPositions();
    expect(positions).toHaveLength(41);
    const relayed = positions.filter((_, i) => i !== 20);
    expect(relayed).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Refused once (nothing stored), then on from where the log really ends.
    expect(errors[0]).toBeInstanceOf(BusSequenceMismatchError);
    expect(relay.status()).toMatchObject({ published: 40, duplicates: 0 });
  });
});
