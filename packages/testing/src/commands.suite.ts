import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BusClosedError,
  CommandTimeoutError,
  InvalidCommandReplyError,
  NoCommandResponderError,
  InvalidArgumentError,
  WrongExpectedRevisionError,
  type CommandDispatcher,
  type CommandEnvelope,
} from '@causewayjs/core';
import { CommandResponderCode, type CommandServeHandler } from '@causewayjs/core/internals';

/** A running command responder as the suite sees it. */
export interface CommandsResponder {
  /** Commands answered so far. */
  readonly answered: number;
  /** Stops taking commands and finishes those in hand. */
  stop(): Promise<void>;
}

/**
 * How the commands suite reaches one broker: a dispatcher and a responder factory, both
 * under a prefix of the harness's own. `open` is called once per test.
 */
export interface CommandsHarness {
  /** A dispatcher on the client connection (the constructor's own checks apply). */
  dispatcher(options?: { timeoutMs?: number }): CommandDispatcher;
  /**
   * Starts a responder on the server connection and resolves once it takes commands. Bad
   * options throw at once (not a rejected promise). `apart` asks for a responder that
   * visibly shares the queue with the others (its own connection, or one command at a time).
   */
  serve(
    handle: CommandServeHandler,
    options?: { types?: readonly string[]; apart?: boolean },
  ): Promise<CommandsResponder>;
  /** Sends `text` (not an envelope) as a command to `<prefix>.<token>`; resolves with the reply text. */
  requestRaw(token: string, text: string): Promise<string>;
  /** Answers every command of `type` with `text` (a misbehaving responder); resolves with its stop. */
  answerRaw(type: string, text: string): Promise<() => Promise<void>>;
  /** A dispatcher on a connection that is already closed. */
  closedDispatcher(): Promise<CommandDispatcher>;
  /** Releases everything (the suite stops its responders first). */
  cleanup(): Promise<void>;
}

const command = (type: string, data: unknown = {}): CommandEnvelope => ({
  id: crypto.randomUUID(),
  type,
  data,
  metadata: { correlationId: 'c-1' },
});

/**
 * The commands-over-a-broker contract (a `CommandDispatcher` and its responders): replies,
 * rejections, no responder, timeouts, queue sharing, malformed requests and replies, bad input.
 */
export function describeCommandsConformance(
  name: string,
  open: () => Promise<CommandsHarness>,
): void {
  describe(`commands conformance: ${name}`, () => {
    let h: CommandsHarness;
    const responders: CommandsResponder[] = [];

    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      for (const r of responders.splice(0)) await r.stop();
      await h.cleanup();
    });

    const serve = async (
      handle: CommandServeHandler,
      options?: Parameters<CommandsHarness['serve']>[1],
    ) => {
      const r = await h.serve(handle, options);
      responders.push(r);
      return r;
    };

    it('delivers the envelope to the handler on the other connection and returns its reply', async () => {
      const received: CommandEnvelope[] = [];
      const responder = await serve((c) => {
        received.push(c);
        return {
          status: 'accepted',
          stream: `stock-${String((c.data as { sku: string }).sku)}`,
          revision: 3,
        };
      });
      const sent = command('stock.reserve', { sku: 'a1', qty: 2 });
      expect(await h.dispatcher().dispatch(sent)).toEqual({
        status: 'accepted',
        stream: 'stock-a1',
        revision: 3,
      });
      expect(received).toEqual([sent]);
      expect(responder.answered).toBe(1);
    });

    it('turns a thrown Causeway error into a rejection with its code, other throws into COMMAND_FAILED', async () => {
      await serve((c) => {
        if (c.type === 'order.place') throw new WrongExpectedRevisionError('order-1', 2, 3);
        throw new Error('database on fire');
      });
      const d = h.dispatcher();
      expect(await d.dispatch(command('order.place'))).toMatchObject({
        status: 'rejected',
        code: 'WRONG_EXPECTED_REVISION',
      });
      expect(await d.dispatch(command('order.cancel'))).toEqual({
        status: 'rejected',
        code: CommandResponderCode.COMMAND_FAILED,
        message: 'database on fire',
      });
    });

    it('fails with NoCommandResponderError when nobody serves the type, or after the responders stopped', async () => {
      const responder = await serve(() => ({ status: 'accepted' }), { types: ['stock.reserve'] });
      const d = h.dispatcher();
      const error = await d.dispatch(command('payment.authorise')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NoCommandResponderError);
      expect(error).toMatchObject({
        code: 'NO_COMMAND_RESPONDER',
        commandType: 'payment.authorise',
      });
      expect(await d.dispatch(command('stock.reserve'))).toEqual({ status: 'accepted' });
      await responder.stop();
      await expect(d.dispatch(command('stock.reserve'))).rejects.toBeInstanceOf(
        NoCommandResponderError,
      );
      await expect(responder.stop(), 'a second stop').resolves.toBeUndefined();
    });

    it('fails with CommandTimeoutError when the handler does not answer in time', async () => {
      let release: () => void = () => undefined;
      const slow = new Promise<void>((resolve) => (release = resolve));
      await serve(async () => {
        await slow;
        return { status: 'accepted' };
      });
      const sent = command('payment.authorise');
      const error = await h
        .dispatcher({ timeoutMs: 100 })
        .dispatch(sent)
        .catch((e: unknown) => e);
      release();
      expect(error).toBeInstanceOf(CommandTimeoutError);
      expect(error).toMatchObject({ code: 'COMMAND_TIMEOUT', commandId: sent.id, timeoutMs: 100 });
    });

    it('shares commands between responders of the queue: each answered once', async () => {
      const byResponder = [0, 0];
      let release: () => void = () => undefined;
      const both = new Promise<void>((resolve) => (release = resolve));
      const handler = (i: 0 | 1) => async () => {
        byResponder[i] = (byResponder[i] ?? 0) + 1;
        if ((byResponder[0] ?? 0) > 0 && (byResponder[1] ?? 0) > 0) release();
        else await both;
        return { status: 'accepted' as const };
      };
      await serve(handler(0), { apart: true });
      await serve(handler(1), { apart: true });
      const d = h.dispatcher();
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => d.dispatch(command('job.run'))),
      );
      expect(replies.every((r) => r.status === 'accepted')).toBe(true);
      expect((byResponder[0] ?? 0) + (byResponder[1] ?? 0)).toBe(20);
      expect(byResponder[0]).toBeGreaterThan(0);
      expect(byResponder[1]).toBeGreaterThan(0);
    });

    it('answers a request that is not an envelope with INVALID_COMMAND', async () => {
      await serve(() => ({ status: 'accepted' }));
      expect(JSON.parse(await h.requestRaw('x', 'garbage'))).toMatchObject({
        status: 'rejected',
        code: CommandResponderCode.INVALID_COMMAND,
      });
    });

    it('refuses a reply that is not a CommandReply', async () => {
      const stop = await h.answerRaw('bad.reply', JSON.stringify({ status: 'maybe' }));
      try {
        await expect(h.dispatcher().dispatch(command('bad.reply'))).rejects.toBeInstanceOf(
          InvalidCommandReplyError,
        );
      } finally {
        await stop();
      }
    });

    it('rejects bad input with typed errors, and a closed connection with BusClosedError', async () => {
      const d = h.dispatcher();
      await expect(d.dispatch({ ...command('x'), id: '' })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(d.dispatch({ ...command('x'), type: '' })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      expect(() => h.dispatcher({ timeoutMs: 0 })).toThrow(InvalidArgumentError);
      expect(() => h.serve('x' as never)).toThrow(InvalidArgumentError);
      const closed = await h.closedDispatcher();
      await expect(closed.dispatch(command('x'))).rejects.toBeInstanceOf(BusClosedError);
    });
  });
}
