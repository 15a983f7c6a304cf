import {
  createServer,
  connect as tcpConnect,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RabbitMqMessageBus } from '@causewayjs/rabbitmq';
import { busEvent, eventually } from '@causewayjs/testing';
import {
  amqpUrl,
  deleteRabbitTopology,
  rabbitMqAvailable,
  randomRabbitName,
} from '../support/rabbitmq.js';

/** AMQP 0-9-1 method frames are type 1; a frame ends with 0xCE. */
const METHOD = 1;
const FRAME_END = 0xce;

/** A method frame from the broker: class and method id, then the arguments. */
function methodFrame(channel: number, classId: number, methodId: number, args: Buffer): Buffer {
  const frame = Buffer.alloc(7 + 4 + args.length + 1);
  frame.writeUInt8(METHOD, 0);
  frame.writeUInt16BE(channel, 1);
  frame.writeUInt32BE(4 + args.length, 3);
  frame.writeUInt16BE(classId, 7);
  frame.writeUInt16BE(methodId, 9);
  args.copy(frame, 11);
  frame.writeUInt8(FRAME_END, 11 + args.length);
  return frame;
}

/** The arguments of connection.close and channel.close: code, text, and no causing method. */
function closeArgs(text: string): Buffer {
  const reason = Buffer.from(text);
  const args = Buffer.alloc(2 + 1 + reason.length + 4);
  args.writeUInt16BE(320, 0); // CONNECTION_FORCED
  args.writeUInt8(reason.length, 2);
  reason.copy(args, 3);
  return args;
}

/** What to close, and after which answer of the broker (the first on that connection). */
interface CloseRule {
  after: { classId: number; methodId: number };
  close: 'connection' | 'channel';
}

/** The broker's confirm.select-ok: the last step of opening the bus's connection. */
const OPENED = { classId: 85, methodId: 11 };
/** The broker's basic.consume-ok: a member's consumer is in place. */
const CONSUMING = { classId: 60, methodId: 21 };

/** A frame read off one direction of a connection: where it ends, and its method if one. */
interface Frame {
  bytes: Buffer;
  channel: number;
  classId?: number;
  methodId?: number;
}

/** Splits one direction of an AMQP connection into frames (after `skip` leading bytes). */
class FrameReader {
  private pending = Buffer.alloc(0);
  constructor(private skip: number) {}

  read(chunk: Buffer): Frame[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    if (this.skip > 0) {
      if (this.pending.length < this.skip) return frames;
      frames.push({ bytes: this.pending.subarray(0, this.skip), channel: -1 });
      this.pending = this.pending.subarray(this.skip);
      this.skip = 0;
    }
    let at = 0;
    while (this.pending.length >= at + 7) {
      const size = this.pending.readUInt32BE(at + 3);
      const end = at + 7 + size + 1;
      if (this.pending.length < end) break;
      const method = this.pending.readUInt8(at) === METHOD && size >= 4;
      frames.push({
        bytes: this.pending.subarray(at, end),
        channel: this.pending.readUInt16BE(at + 1),
        ...(method
          ? {
              classId: this.pending.readUInt16BE(at + 7),
              methodId: this.pending.readUInt16BE(at + 9),
            }
          : {}),
      });
      at = end;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }
}

function isMethod(frame: Frame, method: { classId: number; methodId: number }): boolean {
  return frame.classId === method.classId && frame.methodId === method.methodId;
}

const CHANNEL_CLOSE_OK = { classId: 20, methodId: 41 };

/**
 * A TCP proxy in front of the test broker that can cut every connection, and can make one of
 * the broker's answers on a connection arrive in the same chunk as a close of that connection
 * or of the answer's channel: the client reads both in one go, before any code awaiting the
 * answer runs. A channel closed this way is closed at the broker too (the client's close-ok
 * goes on as a close), so the connection stays up.
 */
class AmqpProxy {
  connections = 0;
  /** Channels the proxy closed at both ends (the broker has confirmed its side). */
  channelsClosed = 0;
  /** By connection number (from 1): what to close in the same chunk as which answer. */
  readonly rules = new Map<number, CloseRule>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<string> {
    const server = createServer((client) => {
      if (this.held) this.held.push(client);
      else this.accept(client);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const url = new URL(amqpUrl);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return url.toString();
  }

  private accept(client: Socket): void {
    const rule = this.rules.get(++this.connections);
    const upstream = tcpConnect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    if (!rule) {
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => client.write(chunk));
      return;
    }
    /** The channel the proxy closed on the client's side, once it has. */
    let closed: number | undefined;
    /** Client frames held while the broker closes that channel (the client may reopen it). */
    let held: Buffer[] | undefined;
    let rewritten = false;
    let silent = false;
    const fromBroker = new FrameReader(0);
    upstream.on('data', (chunk: Buffer) => {
      if (silent) return;
      const out: Buffer[] = [];
      for (const frame of fromBroker.read(chunk)) {
        if (held && frame.channel === closed && isMethod(frame, CHANNEL_CLOSE_OK)) {
          // The broker's answer to the close sent on the client's behalf: the client is done
          // with the channel already, and what it sent since can go on.
          upstream.write(Buffer.concat(held));
          held = undefined;
          this.channelsClosed += 1;
          continue;
        }
        out.push(frame.bytes);
        if (closed !== undefined || !isMethod(frame, rule.after)) continue;
        if (rule.close === 'connection') {
          out.push(methodFrame(0, 10, 50, closeArgs('closed by the proxy')));
          silent = true;
          break;
        }
        closed = frame.channel;
        out.push(methodFrame(frame.channel, 20, 40, closeArgs('closed by the proxy')));
      }
      if (out.length > 0) client.write(Buffer.concat(out));
    });
    const fromClient = new FrameReader(8); // the protocol header, 'AMQP' 0 0 9 1
    client.on('data', (chunk: Buffer) => {
      for (const frame of fromClient.read(chunk)) {
        if (held) held.push(frame.bytes);
        else if (!rewritten && frame.channel === closed && isMethod(frame, CHANNEL_CLOSE_OK)) {
          rewritten = true;
          upstream.write(methodFrame(frame.channel, 20, 40, closeArgs('closed by the client')));
          held = [];
        } else upstream.write(frame.bytes);
      }
    });
  }

  /** Connections accepted while held: they wait, silent, until {@link release}. */
  private held: Socket[] | undefined;

  /** New connections wait (a broker that accepts but does not answer yet). */
  hold(): void {
    this.held ??= [];
  }

  /** Lets the held connections through, and new ones from now on. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const client of held) this.accept(client);
  }

  /** Connections waiting in {@link hold}. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  /** Drops every connection, as a network failure would. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

const available = await rabbitMqAvailable();

describe.skipIf(!available)('RabbitMQ bus: reconnection races', () => {
  let proxy: AmqpProxy;
  let bus: RabbitMqMessageBus | undefined;

  beforeEach(() => {
    const target = new URL(amqpUrl);
    proxy = new AmqpProxy({ host: target.hostname, port: Number(target.port || 5672) });
  });
  /**
   * A bus on the proxy, reconnecting within tens of ms; publishes wait `publishTimeoutMs` for
   * a connection, three times.
   */
  const connectThroughProxy = async (publishTimeoutMs: number) =>
    RabbitMqMessageBus.connect(await proxy.start(), {
      prefix: randomRabbitName('race'),
      logMaxAge: '1h',
      publishTimeoutMs,
      publishRetry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      reconnect: { baseDelayMs: 10, maxDelayMs: 50 },
    });
  /** A member of the group `racers` on `on`, from new messages, and the ids it has handled. */
  const racer = async (on: RabbitMqMessageBus) => {
    const seen: string[] = [];
    const member = await on.subscribe({
      group: 'racers',
      from: 'new',
      handler: (e) => void seen.push(e.id),
    });
    return { member, seen };
  };
  afterEach(async () => {
    if (bus) {
      await bus.close();
      await deleteRabbitTopology(bus.topology());
      bus = undefined;
    }
    await proxy.stop();
  });

  // The broker closes the next connection in the same read as its opening completes; or its
  // publishing channel, before anything listens for its errors, and amqplib then closes that
  // connection, whose opening is a failed attempt like any other.
  it.each([
    ['a connection closed while it was being opened', 'connection'],
    ['a publishing channel the broker closes as soon as it is open', 'channel'],
  ] as const)(
    '%s counts as a failed attempt: the bus connects again and publishes',
    async (_what, close) => {
      bus = await connectThroughProxy(1000);
      const opened = proxy.connections;
      proxy.rules.set(opened + 1, { after: OPENED, close });
      proxy.cut();
      await eventually(() => proxy.connections >= opened + 2, 'a connection after the closed one');
      const receipt = await bus.publish(busEvent(`race-${close}`, 'race.done'));
      expect(receipt.duplicate).toBe(false);
      // The closed connection was not taken for a live one: only the one after it counts.
      expect(bus.reconnections).toBe(1);
    },
  );

  it('a member whose connection is closed while reopening consumes again', async () => {
    bus = await connectThroughProxy(1000);
    const { member, seen } = await racer(bus);
    const opened = proxy.connections;
    proxy.rules.set(opened + 1, { after: OPENED, close: 'connection' });
    proxy.cut();
    const event = busEvent('race-2', 'race.done');
    await bus.publish(event);
    await eventually(() => seen.includes(event.id), 'the member to consume again');
    expect(member.status()).toMatchObject({ running: true });
    await member.stop();
  });

  it('a member whose channel is closed in the same read as its consume-ok opens it again', async () => {
    bus = await connectThroughProxy(1000);
    const { member, seen } = await racer(bus);
    // On the next connection the member's new consumer is closed as soon as it is in place,
    // while its resumption is still under way; the connection itself stays up.
    const opened = proxy.connections;
    proxy.rules.set(opened + 1, { after: CONSUMING, close: 'channel' });
    proxy.cut();
    // Published once the broker has closed the consumer the proxy closed (else the broker
    // could still deliver to it, on a channel the client has closed).
    await eventually(() => proxy.channelsClosed === 1, 'the consumer closed at both ends');
    const event = busEvent('race-3', 'race.done');
    await bus.publish(event);
    await eventually(() => seen.includes(event.id), 'the member to consume again');
    expect(proxy.connections).toBe(opened + 1);
    await member.stop();
  });

  it('a member stopped while it waits for the connection to come back does not consume after it', async () => {
    bus = await connectThroughProxy(5000);
    const { member: first, seen: stopped } = await racer(bus);
    // The broker goes away and comes back slowly: the member waits for the connection to
    // open its channel again, and is stopped meanwhile.
    proxy.hold();
    proxy.cut();
    await eventually(() => proxy.waiting > 0, 'a reconnection attempt');
    await first.stop();
    proxy.release();
    await eventually(() => bus?.reconnections === 1, 'the reconnection');
    const { member: second, seen } = await racer(bus);
    const events = Array.from({ length: 6 }, (_, i) => busEvent(`race-5-${i}`, 'race.done'));
    for (const event of events) await bus.publish(event);
    // Every message goes to the running member: none is held by a consumer of the stopped one.
    await eventually(() => seen.length === events.length, 'every message at the running member');
    expect(seen).toEqual(events.map((e) => e.id));
    expect(stopped).toEqual([]);
    await second.stop();
  });
});
