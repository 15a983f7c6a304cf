import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CommandResponderCode,
  NatsCommandDispatcher,
  serveNatsCommands,
  type NatsCommandResponder,
} from '../../src/adapters/nats/index.js';
import {
  BusClosedError,
  CommandTimeoutError,
  InvalidCommandReplyError,
  NoCommandResponderError,
} from '../../src/bus/index.js';
import { InvalidArgumentError, WrongExpectedRevisionError } from '../../src/core/errors.js';
import type { CommandEnvelope } from '../../src/domain/command-dispatcher.js';
import { connectNats, natsAvailable, randomNatsName } from '../support/nats.js';

const available = await natsAvailable();

const command = (type: string, data: unknown = {}): CommandEnvelope => ({
  id: crypto.randomUUID(),
  type,
  data,
  metadata: { correlationId: 'c-1' },
});

describe.skipIf(!available)('commands over NATS request/reply', () => {
  let prefix: string;
  let client: NatsConnection;
  let server: NatsConnection;
  const responders: NatsCommandResponder[] = [];

  beforeEach(async () => {
    prefix = `cmd.${randomNatsName()}`;
    client = await connectNats();
    server = await connectNats();
  });
  afterEach(async () => {
    for (const r of responders.splice(0)) await r.stop();
    await client.close();
    await server.close();
  });

  const serve = (handle: Parameters<typeof serveNatsCommands>[0]['handle'], extra = {}) => {
    const r = serveNatsCommands({ connection: server, prefix, handle, ...extra });
    responders.push(r);
    return r;
  };

  it('delivers the envelope to the handler in the other connection and returns its reply', async () => {
    const received: CommandEnvelope[] = [];
    serve((c) => {
      received.push(c);
      return {
        status: 'accepted',
        stream: `stock-${String((c.data as { sku: string }).sku)}`,
        revision: 3,
      };
    });
    await server.flush();
    const dispatcher = new NatsCommandDispatcher({ connection: client, prefix });
    const sent = command('stock.reserve', { sku: 'a1', qty: 2 });
    expect(await dispatcher.dispatch(sent)).toEqual({
      status: 'accepted',
      stream: 'stock-a1',
      revision: 3,
    });
    expect(received).toEqual([sent]);
  });

  it('turns a thrown Causeway error into a rejection with its code, other throws into COMMAND_FAILED', async () => {
    serve((c) => {
      if (c.type === 'order.place') throw new WrongExpectedRevisionError('order-1', 2, 3);
      throw new Error('database on fire');
    });
    await server.flush();
    const dispatcher = new NatsCommandDispatcher({ connection: client, prefix });
    expect(await dispatcher.dispatch(command('order.place'))).toMatchObject({
      status: 'rejected',
      code: 'WRONG_EXPECTED_REVISION',
    });
    expect(await dispatcher.dispatch(command('order.cancel'))).toEqual({
      status: 'rejected',
      code: CommandResponderCode.COMMAND_FAILED,
      message: 'database on fire',
    });
  });

  it('fails with NoCommandResponderError when nobody serves the type', async () => {
    serve(() => ({ status: 'accepted' }), { types: ['stock.reserve'] });
    await server.flush();
    const dispatcher = new NatsCommandDispatcher({ connection: client, prefix });
    const error = await dispatcher.dispatch(command('payment.authorise')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoCommandResponderError);
    expect(error).toMatchObject({ code: 'NO_COMMAND_RESPONDER', commandType: 'payment.authorise' });
  });

  it('fails with CommandTimeoutError when the handler does not answer in time', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    serve(async () => {
      await slow;
      return { status: 'accepted' };
    });
    await server.flush();
    const dispatcher = new NatsCommandDispatcher({ connection: client, prefix, timeoutMs: 100 });
    const sent = command('payment.authorise');
    const error = await dispatcher.dispatch(sent).catch((e: unknown) => e);
    release();
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(error).toMatchObject({ code: 'COMMAND_TIMEOUT', commandId: sent.id, timeoutMs: 100 });
  });

  it('shares commands between responders of the queue group: each answered once', async () => {
    const byResponder = [0, 0];
    const other = await connectNats();
    try {
      let release: () => void = () => undefined;
      const both = new Promise<void>((resolve) => (release = resolve));
      const handler = (i: 0 | 1) => async () => {
        byResponder[i] = (byResponder[i] ?? 0) + 1;
        if ((byResponder[0] ?? 0) > 0 && (byResponder[1] ?? 0) > 0) release();
        else await both;
        return { status: 'accepted' as const };
      };
      serve(handler(0));
      const second = serveNatsCommands({ connection: other, prefix, handle: handler(1) });
      responders.push(second);
      await server.flush();
      await other.flush();
      const dispatcher = new NatsCommandDispatcher({ connection: client, prefix });
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => dispatcher.dispatch(command('job.run'))),
      );
      expect(replies.every((r) => r.status === 'accepted')).toBe(true);
      expect((byResponder[0] ?? 0) + (byResponder[1] ?? 0)).toBe(20);
      expect(byResponder[0]).toBeGreaterThan(0);
      expect(byResponder[1]).toBeGreaterThan(0);
    } finally {
      for (const r of responders.splice(1)) await r.stop();
      await other.close();
    }
  });

  it('answers a request that is not an envelope with INVALID_COMMAND', async () => {
    serve(() => ({ status: 'accepted' }));
    await server.flush();
    const reply = await client.request(`${prefix}.x`, 'garbage', { timeout: 2000 });
    expect(JSON.parse(reply.string())).toMatchObject({
      status: 'rejected',
      code: CommandResponderCode.INVALID_COMMAND,
    });
  });

  it('refuses a reply that is not a CommandReply', async () => {
    const sub = server.subscribe(`${prefix}.bad.reply`, {
      callback: (_e, msg) => {
        msg.respond(JSON.stringify({ status: 'maybe' }));
      },
    });
    await server.flush();
    try {
      const dispatcher = new NatsCommandDispatcher({ connection: client, prefix });
      await expect(dispatcher.dispatch(command('bad.reply'))).rejects.toBeInstanceOf(
        InvalidCommandReplyError,
      );
    } finally {
      sub.unsubscribe();
    }
  });

  it('rejects bad input with typed errors, and a closed connection with BusClosedError', async () => {
    const dispatcher = new NatsCommandDispatcher({ connection: client, prefix });
    await expect(dispatcher.dispatch({ ...command('x'), id: '' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(dispatcher.dispatch({ ...command('x'), type: '' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(() => new NatsCommandDispatcher({ connection: client, timeoutMs: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => serveNatsCommands({ connection: server, handle: 'x' as never })).toThrow(
      InvalidArgumentError,
    );
    const closing = await connectNats();
    await closing.close();
    const closed = new NatsCommandDispatcher({ connection: closing, prefix });
    await expect(closed.dispatch(command('x'))).rejects.toBeInstanceOf(BusClosedError);
  });
});
