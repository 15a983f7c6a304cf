// CloudEvents binary mode on the NATS bus: what a consumer outside Causeway reads with the
// CloudEvents SDK, and what Causeway's own members read back.
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterEach, describe, expect, it } from 'vitest';
import {
  NatsMessageBus,
  decodeNatsMessage,
  encodeNatsMessage,
  type NatsWireFormat,
} from '@causewayjs/nats';
import { type RecordedEvent, InvalidArgumentError } from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';
import { connectNats, deleteNatsStream, natsAvailable, randomNatsName } from '../support/nats.js';

const available = await natsAvailable();

/** A message's headers as an HTTP binding message's, for the SDK. */
function sdkHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of h?.keys() ?? []) out[key.toLowerCase()] = h!.get(key);
  return out;
}

const event = busEvent(
  'order-42',
  'order.placed',
  { total: 12.5, note: 'crème brûlée' },
  { correlationId: 'c-1', actor: 'alice', custom: { deep: true } },
);

describe('the NATS wire formats (no broker)', () => {
  it('keeps the default format as it was: the envelope as JSON, no CloudEvents headers', () => {
    const wire = encodeNatsMessage(event, 'causeway');
    expect(wire.headers).toBeUndefined();
    expect(JSON.parse(Buffer.from(wire.data).toString())).toMatchObject({
      id: event.id,
      stream: 'order-42',
    });
  });

  it('writes a binary CloudEvent the SDK reads, and reads it back losslessly', () => {
    const wire = encodeNatsMessage(event, 'cloudevents-binary');
    const ce = HTTP.toEvent({
      headers: sdkHeaders(wire.headers),
      body: Buffer.from(wire.data).toString(),
    }) as CloudEvent<{ total: number }>;
    expect(ce).toMatchObject({
      specversion: '1.0',
      id: event.id,
      type: 'order.placed',
      subject: 'order-42',
      source: 'urn:causeway',
      datacontenttype: 'application/json',
      data: { total: 12.5, note: 'crème brûlée' },
      correlationid: 'c-1',
      causewayposition: String(event.position),
    });
    expect(decodeNatsMessage(wire.data, wire.headers)).toEqual(event);
  });

  it('treats a CloudEvent it cannot make an event of as undecodable, not as a crash', () => {
    const wire = encodeNatsMessage(event, 'cloudevents-binary');
    const broken = natsHeaders();
    for (const key of wire.headers!.keys())
      if (key !== 'ce-causewayposition') broken.set(key, wire.headers!.get(key));
    expect(decodeNatsMessage(wire.data, broken)).toBeUndefined();
    expect(decodeNatsMessage(Buffer.from('not json'), wire.headers)).toBeUndefined();
  });
});

describe.skipIf(!available)('NatsMessageBus in CloudEvents binary mode', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open(stream: string, wireFormat: NatsWireFormat) {
    const nc = await connectNats();
    const bus = await NatsMessageBus.open({
      connection: nc,
      stream,
      prefix: stream.toLowerCase(),
      storage: 'memory',
      wireFormat,
    });
    cleanups.push(async () => {
      await bus.close();
      await nc.close();
    });
    return { nc, bus };
  }

  it('publishes messages an outside consumer parses with the CloudEvents SDK', async () => {
    const stream = randomNatsName('CE');
    const { nc, bus } = await open(stream, 'cloudevents-binary');
    cleanups.push(() => deleteNatsStream(nc, stream));
    await bus.publish(event);

    // A plain JetStream consumer, knowing nothing of Causeway.
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(stream, { durable_name: 'outsider', ack_policy: AckPolicy.Explicit });
    const consumer = await jetstream(nc).consumers.get(stream, 'outsider');
    const m = await consumer.next({ expires: 5000 });
    expect(m).not.toBeNull();
    m!.ack();
    const ce = HTTP.toEvent({
      headers: sdkHeaders(m!.headers),
      body: m!.string(),
    }) as CloudEvent<{ total: number }>;
    expect(ce).toBeInstanceOf(CloudEvent);
    expect(ce).toMatchObject({
      id: event.id,
      type: 'order.placed',
      subject: 'order-42',
      data: { total: 12.5 },
    });
    expect(new Date(ce.time!).toISOString()).toBe(event.recordedAt.toISOString());
  });

  it('delivers the same event to members whichever format the publisher wrote', async () => {
    const stream = randomNatsName('CE');
    const binary = await open(stream, 'cloudevents-binary');
    cleanups.push(() => deleteNatsStream(binary.nc, stream));
    const plain = await open(stream, 'causeway');
    const seen: RecordedEvent[] = [];
    const member = await plain.bus.subscribe({
      group: 'readers',
      subjects: ['>'],
      handler: (e) => void seen.push(e),
    });
    cleanups.push(() => member.stop());
    const second = busEvent('order-43', 'order.placed', null, { tenant: 'acme' });
    await binary.bus.publish(event);
    await plain.bus.publish(second);
    await eventually(() => seen.length === 2, 'both events delivered');
    expect(seen).toEqual([event, second]);
    // Where the stream ends is read from either format too.
    expect((await binary.bus.tail()).last).toEqual({
      eventId: second.id,
      position: second.position,
    });
  });

  it('refuses an unknown wire format with a typed error', async () => {
    const nc = await connectNats();
    cleanups.push(() => nc.close());
    await expect(
      NatsMessageBus.open({
        connection: nc,
        stream: randomNatsName('CE'),
        wireFormat: 'xml' as NatsWireFormat,
      }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
