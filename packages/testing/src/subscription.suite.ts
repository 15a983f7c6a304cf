import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  ManualClock,
  type EventInput,
  type EventStore,
  type RecordedEvent,
  type StoreTransaction,
  type TransactionalEventStore,
  CheckpointAheadError,
  LeaseLostError,
  Subscription,
  SubscriptionErrorCode,
  SubscriptionLeasedError,
  SubscriptionStoppedByHandlerError,
  nack,
  withInbox,
  type EventHandler,
  type HandlerContext,
  type SubscriptionOptions,
  type SubscriptionState,
  type SubscriptionStatus,
  type SubscriptionStorage,
  type CheckpointStore,
} from '@causewayjs/core';

/** One "process": a store and its subscription storage on the harness's database. */
export interface SubscriptionProcess<Tx extends StoreTransaction> {
  store: TransactionalEventStore<Tx>;
  storage: SubscriptionStorage<Tx>;
}

/**
 * A table in the store's database that handlers write inside their transaction: one row per
 * key, and writing a key twice fails (so an effect applied twice cannot pass unnoticed).
 */
export interface EffectSink<Tx extends StoreTransaction> {
  /** Creates the table (idempotent). */
  setup(store: TransactionalEventStore<Tx>): Promise<void>;
  /** Inserts a row inside `tx`; rejects if the key is already there. */
  write(tx: Tx, key: string, value: number): Promise<void>;
  /** Committed rows. */
  read(store: TransactionalEventStore<Tx>): Promise<Map<string, number>>;
}

/** How the subscription suite reaches one adapter. */
export interface SubscriptionHarness<Tx extends StoreTransaction> {
  /** Opens a process on this harness's database (another connection when durable). */
  open(): Promise<SubscriptionProcess<Tx>>;
  /** True when two `open()` calls share data. */
  durable: boolean;
  sink: EffectSink<Tx>;
  /** Drops the database; called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
  /**
   * The name the suite's stream `name` has on this harness's store (default: `name` itself):
   * a tenant-scoped store only serves `acme:order-1`.
   */
  stream?(name: string): string;
  /**
   * Whether committing `tx` now would wait for its flush to disk (PostgreSQL:
   * `synchronous_commit`; SQLite: `synchronous` at FULL or above). Left out where there is
   * nothing to flush (memory).
   */
  commitWaitsForFlush?(tx: Tx): Promise<boolean>;
}

const ev = (type: string, n: number): EventInput => ({ type, data: { n } });

/** Resolves once `check` holds, polling; fails after `timeoutMs`. */
async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Resolves with the first status that satisfies `predicate` (the current one included). */
function statusWhere<Tx extends StoreTransaction>(
  subscription: Subscription<Tx>,
  predicate: (status: SubscriptionStatus) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<SubscriptionStatus> {
  return new Promise((resolve, reject) => {
    if (predicate(subscription.status)) {
      resolve(subscription.status);
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(`timed out waiting for ${what}; status ${JSON.stringify(subscription.status)}`),
      );
    }, timeoutMs);
    const stop = subscription.onStatus((status) => {
      if (!predicate(status)) return;
      clearTimeout(timer);
      stop();
      resolve(status);
    });
  });
}

/** A gate a handler can wait at. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** A retry policy that does not sleep, and records the delays it was asked for. */
function instantRetry(attempts: number, delays: number[] = []) {
  return {
    attempts,
    baseDelayMs: 10,
    maxDelayMs: 1000,
    random: () => 0.5,
    sleep: (ms: number) => {
      delays.push(ms);
      return Promise.resolve();
    },
  };
}

/**
 * The subscription contract (DESIGN.md §3, issue: subscriptions and failure handling), run
 * against every adapter: catch-up then live delivery in order, filters, checkpoints, effects
 * committed with the checkpoint, retries, parking, nack results, timeouts, bad handlers, the
 * exclusive lease and a checkpoint ahead of the log.
 */
export function describeSubscriptionConformance<Tx extends StoreTransaction>(
  name: string,
  makeHarness: () => Promise<SubscriptionHarness<Tx>>,
): void {
  describe(`Subscription conformance: ${name}`, () => {
    let harness: SubscriptionHarness<Tx>;
    /** The suite's stream `name` as this harness names it. */
    const stream = (name: string) => harness.stream?.(name) ?? name;
    let main: SubscriptionProcess<Tx>;
    const processes: SubscriptionProcess<Tx>[] = [];
    const subscriptions: Subscription<Tx>[] = [];

    const open = async () => {
      const p = await harness.open();
      processes.push(p);
      return p;
    };
    /** A second process: another connection when durable, the same storage otherwise. */
    const other = async () => (harness.durable ? open() : main);
    const subscribe = (
      options: Partial<SubscriptionOptions<Tx>> & { handler: EventHandler<Tx> },
      on: SubscriptionProcess<Tx> = main,
    ) => {
      const subscription = new Subscription<Tx>({
        name: 'sub',
        storage: on.storage,
        retry: instantRetry(3),
        lease: { ttlMs: 60_000 },
        ...options,
      });
      subscriptions.push(subscription);
      return subscription;
    };
    const append = async (
      count: number,
      streamOf = (i: number) => `s-${i % 5}`,
      type = 't.happened',
    ) => {
      const head = await main.store.headPosition();
      for (let i = 0; i < count; i++)
        await main.store.append(stream(streamOf(head + i)), [ev(type, head + i + 1)]);
      return head + count;
    };
    /** Appends `count` events in one commit per hundred (faster than `append` for many). */
    const appendBulk = async (count: number) => {
      const head = await main.store.headPosition();
      for (let n = 0; n < count; n += 100)
        await main.store.appendMany(
          Array.from({ length: Math.min(100, count - n) }, (_, i) => ({
            stream: stream(`s-${(head + n + i) % 5}`),
            events: [ev('t.happened', head + n + i + 1)],
          })),
        );
    };
    /** A handler that writes one sink row per event (keyed by position) and records what it saw. */
    const recording =
      (
        seen: RecordedEvent[] = [],
        before?: (event: RecordedEvent, context: HandlerContext<Tx>) => unknown,
      ): EventHandler<Tx> =>
      async (event, context) => {
        const result = await before?.(event, context);
        if (result !== undefined) return result as never;
        await harness.sink.write(context.tx, String(event.position), event.position);
        seen.push(event);
      };

    beforeEach(async () => {
      harness = await makeHarness();
      main = await open();
      await harness.sink.setup(main.store);
    });

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
      await Promise.all(processes.splice(0).map((p) => p.store.close()));
      await harness.cleanup();
    });

    it('delivers stored events, then live ones, in position order and once each', async () => {
      await append(250);
      const seen: RecordedEvent[] = [];
      const states: SubscriptionState[] = [];
      const subscription = subscribe({ handler: recording(seen) });
      subscription.onStatus((s) => {
        if (states[states.length - 1] !== s.state) states.push(s.state);
      });
      await subscription.start();
      await subscription.waitForPosition(250);
      await statusWhere(subscription, (s) => s.state === 'live', 'live');
      // Several writers at once while live.
      await Promise.all(
        Array.from({ length: 3 }, (_, w) =>
          (async () => {
            for (let i = 0; i < 20; i++)
              await main.store.append(stream(`live-${w}`), [ev('t.live', i)]);
          })(),
        ),
      );
      await subscription.waitForPosition(310);
      expect(seen.map((e) => e.position)).toEqual(Array.from({ length: 310 }, (_, i) => i + 1));
      expect(states.slice(0, 3)).toEqual(['starting', 'catching-up', 'live']);
      expect((await main.storage.checkpoints.load('sub'))?.position).toBe(310);
      expect((await harness.sink.read(main.store)).size).toBe(310);
      expect(subscription.status).toMatchObject({ running: true, position: 310, error: undefined });
    });

    it('starts from the end when asked, saving that point at once, or after a position', async () => {
      await append(5);
      const seen: RecordedEvent[] = [];
      const fromEnd = subscribe({ name: 'from-end', from: 'end', handler: recording(seen) });
      await fromEnd.start();
      expect((await main.storage.checkpoints.load('from-end'))?.position).toBe(5);
      const seenAfter: RecordedEvent[] = [];
      const after = subscribe({
        name: 'after-3',
        from: { after: 3 },
        handler: async (event) => {
          seenAfter.push(event);
          return Promise.resolve();
        },
      });
      await after.start();
      await append(3);
      await fromEnd.waitForPosition(8);
      await after.waitForPosition(8);
      expect(seen.map((e) => e.position)).toEqual([6, 7, 8]);
      expect(seenAfter.map((e) => e.position)).toEqual([4, 5, 6, 7, 8]);
    });

    it('filters by event type, by stream prefix, and in process with where', async () => {
      for (let i = 1; i <= 30; i++) {
        await main.store.append(stream(i % 3 === 0 ? `order-${i}` : `cart-${i}`), [
          ev(i % 2 === 0 ? 'x.even' : 'x.odd', i),
        ]);
      }
      const byType: number[] = [];
      const byPrefix: number[] = [];
      const byWhere: number[] = [];
      const subs = [
        subscribe({
          name: 'types',
          filter: { types: ['x.even'] },
          handler: (e) => void byType.push(e.position),
        }),
        subscribe({
          name: 'prefix',
          filter: { streamPrefix: stream('order-') },
          handler: (e) => void byPrefix.push(e.position),
        }),
        subscribe({
          name: 'where',
          where: (e) => (e.data as { n: number }).n > 25,
          handler: (e) => void byWhere.push(e.position),
        }),
      ];
      for (const s of subs) await s.start();
      // Filtered subscriptions still move on to the head once nothing more matches.
      for (const s of subs) await s.waitForPosition(30);
      const range = Array.from({ length: 30 }, (_, i) => i + 1);
      expect(byType).toEqual(range.filter((p) => p % 2 === 0));
      expect(byPrefix).toEqual(range.filter((p) => p % 3 === 0));
      expect(byWhere).toEqual([26, 27, 28, 29, 30]);
    });

    it('resumes from its checkpoint after a stop, in another process when durable', async () => {
      await append(10);
      const first: RecordedEvent[] = [];
      const one = subscribe({ handler: recording(first) });
      await one.start();
      await one.waitForPosition(10);
      await one.stop();
      expect(one.status).toMatchObject({ state: 'stopped', error: undefined, position: 10 });
      await append(5);
      const elsewhere = await other();
      const second: RecordedEvent[] = [];
      const two = subscribe({ handler: recording(second) }, elsewhere);
      await two.start();
      await two.waitForPosition(15);
      expect(first.map((e) => e.position)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(second.map((e) => e.position)).toEqual([11, 12, 13, 14, 15]);
      expect((await harness.sink.read(main.store)).size).toBe(15);
    });

    it('commits handler effects with the checkpoint: a failed try leaves nothing behind', async () => {
      await append(12);
      const tries = new Map<number, number>();
      const subscription = subscribe({
        retry: instantRetry(2),
        handler: async (event, context) => {
          tries.set(event.position, (tries.get(event.position) ?? 0) + 1);
          await harness.sink.write(context.tx, String(event.position), event.position);
          // Fails after writing: on the first try of 7, and on every try of 9.
          if (event.position === 9 || (event.position === 7 && tries.get(7) === 1))
            throw new Error(`failed after writing ${event.position}`);
        },
      });
      await subscription.start();
      await subscription.waitForPosition(12);
      const rows = await harness.sink.read(main.store);
      // Every event but the parked one, each exactly once (a second write of a key fails).
      expect([...rows.keys()].map(Number).sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12,
      ]);
      expect(tries.get(7)).toBe(2);
      expect((await subscription.listParked()).map((p) => p.position)).toEqual([9]);
      expect((await main.storage.checkpoints.load('sub'))?.position).toBe(12);
    });

    it('retries with backoff, parks, then retries the parked event with attempts reset', async () => {
      await append(5);
      const clock = new ManualClock(Date.parse('2030-01-02T03:04:05Z'));
      const delays: number[] = [];
      let broken = true;
      const calls: { position: number; attempt: number; parked: boolean }[] = [];
      const seen: RecordedEvent[] = [];
      const subscription = subscribe({
        clock,
        // One event per transaction, so every handler call is one attempt (in a batch, the
        // events before a failure are rolled back with it and handled again).
        batchSize: 1,
        retry: instantRetry(3, delays),
        handler: recording(seen, (event, context) => {
          calls.push({
            position: event.position,
            attempt: context.attempt,
            parked: context.retryingParked,
          });
          if (event.position === 3 && broken) throw new Error('boom at 3');
          return undefined;
        }),
      });
      await subscription.start();
      await subscription.waitForPosition(5);
      const atThree = calls.filter((c) => c.position === 3);
      expect(atThree.map((c) => c.attempt)).toEqual([1, 2, 3]);
      // Full jitter at random 0.5: half of 10, then of 20.
      expect(delays).toEqual([5, 10]);
      const [parked, ...more] = await subscription.listParked();
      expect(more).toEqual([]);
      expect(parked).toMatchObject({
        subscription: 'sub',
        position: 3,
        stream: stream('s-2'),
        type: 't.happened',
        reason: 'failed',
        attempts: 3,
        retryRequested: false,
        error: { name: 'Error', message: 'boom at 3' },
      });
      expect(parked?.eventId).toBe((await eventAt(main.store, 3)).id);
      expect(parked?.error.stack).toContain('boom at 3');
      expect(parked?.parkedAt.getTime()).toBe(clock.now());
      expect(await subscription.parkedCount()).toBe(1);
      expect(seen.map((e) => e.position)).toEqual([1, 2, 4, 5]);
      expect(subscription.status.failing).toBeUndefined();

      broken = false;
      expect(await subscription.retryParked([3])).toBe(1);
      await eventually(async () => (await subscription.parkedCount()) === 0, 'the retry');
      expect(calls[calls.length - 1]).toEqual({ position: 3, attempt: 1, parked: true });
      expect((await harness.sink.read(main.store)).get('3')).toBe(3);
      expect(subscription.status.position).toBe(5);
    });

    it('retries, re-parks and skips parked events one by one and in bulk, and counts them', async () => {
      await append(6);
      let failing = new Set([2, 4, 6]);
      const subscription = subscribe({
        retry: instantRetry(1),
        handler: recording([], (event) => {
          if (failing.has(event.position)) throw new Error(`bad ${event.position}`);
          return undefined;
        }),
      });
      await subscription.start();
      await subscription.waitForPosition(6);
      expect(await subscription.parkedCount()).toBe(3);
      expect(
        (await subscription.listParked({ after: 2, limit: 1 })).map((p) => p.position),
      ).toEqual([4]);

      // Still failing: retried, and parked again with the new failure.
      expect(await subscription.retryParked('all')).toBe(3);
      await eventually(
        async () => (await subscription.listParked({ retryRequested: true })).length === 0,
        'the retries to run',
      );
      expect((await subscription.listParked()).map((p) => [p.position, p.attempts])).toEqual([
        [2, 1],
        [4, 1],
        [6, 1],
      ]);
      expect(await subscription.retryParked([99])).toBe(0);

      expect(await subscription.skipParked([4])).toBe(1);
      expect((await subscription.listParked()).map((p) => p.position)).toEqual([2, 6]);
      failing = new Set();
      expect(await subscription.retryParked([2])).toBe(1);
      await eventually(async () => (await subscription.parkedCount()) === 1, 'the retry of 2');
      expect(await subscription.skipParked('all')).toBe(1);
      expect(await subscription.parkedCount()).toBe(0);
      const rows = await harness.sink.read(main.store);
      expect([...rows.keys()].map(Number).sort((a, b) => a - b)).toEqual([1, 2, 3, 5]);
    });

    it('hands a batch handler whole batches, and the handler a batch it did not acknowledge', async () => {
      await append(12);
      const batches: number[][] = [];
      const handled: number[] = [];
      const names: string[] = [];
      const subscription = subscribe({
        batchSize: 4,
        handler: recording([], (event) => void handled.push(event.position)),
        batchHandler: async (events, context) => {
          const positions = events.map((e) => e.position);
          names.push(context.subscription);
          // Writes what it can, then fails on the batch holding 6 (rolled back) and nacks 10's.
          for (const p of positions) await harness.sink.write(context.tx, String(p), p);
          if (positions.includes(6)) throw new Error('batch failed after writing');
          if (positions.includes(10)) return nack.retry('one by one, please');
          batches.push(positions);
        },
      });
      await subscription.start();
      await subscription.waitForPosition(12);
      expect(batches).toEqual([[1, 2, 3, 4]]);
      expect(names).toEqual(['sub', 'sub', 'sub']);
      expect(handled).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
      const rows = await harness.sink.read(main.store);
      expect([...rows.keys()].map(Number).sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
      ]);
      expect(await subscription.parkedCount()).toBe(0);
      expect((await main.storage.checkpoints.load('sub'))?.position).toBe(12);
    });

    it('acts on nack results at once, rolling back what the handler wrote', async () => {
      await append(7);
      const calls: [number, number][] = [];
      const handler = recording([], async (event, context) => {
        calls.push([event.position, context.attempt]);
        await harness.sink.write(context.tx, `nack-${event.position}`, event.position);
        if (event.position === 2) return nack.park('bad data');
        if (event.position === 3) return nack.skip('not mine');
        if (event.position === 4 && context.attempt === 1) return nack.retry('later');
        if (event.position === 6) return nack.stop('halt here');
        return undefined;
      });
      const subscription = subscribe({ handler });
      await expect(subscription.start()).resolves.toBeUndefined();
      const stopped = await statusWhere(subscription, (s) => s.state === 'stopped', 'the stop');
      expect(stopped.error).toBeInstanceOf(SubscriptionStoppedByHandlerError);
      expect((stopped.error as SubscriptionStoppedByHandlerError).code).toBe(
        SubscriptionErrorCode.STOPPED_BY_HANDLER,
      );
      expect(stopped.error?.message).toContain('halt here');
      expect(stopped.position).toBe(5);
      expect((await main.storage.checkpoints.load('sub'))?.position).toBe(5);
      const parked = await subscription.listParked();
      expect(parked.map((p) => [p.position, p.reason, p.attempts, p.error.message])).toEqual([
        [2, 'requested', 1, 'bad data'],
      ]);
      expect(calls.filter(([p]) => p === 4).map(([, a]) => a)).toEqual([1, 2]);
      const rows = await harness.sink.read(main.store);
      expect([...rows.keys()].sort()).toEqual(['1', '4', '5', 'nack-1', 'nack-4', 'nack-5']);

      // A restart resumes at the event that stopped it.
      const again = subscribe({ handler: recording() });
      await again.start();
      await again.waitForPosition(7);
      expect((await harness.sink.read(main.store)).has('6')).toBe(true);
    });

    it('times out a handler that hangs, aborts its signal, and lets nothing it does later land', async () => {
      await append(3);
      let signal: AbortSignal | undefined;
      const lateWrites: Promise<unknown>[] = [];
      const subscription = subscribe({
        handlerTimeoutMs: 50,
        retry: instantRetry(2),
        handler: recording([], (event, context) => {
          if (event.position !== 2) return undefined;
          signal = context.signal;
          context.signal.addEventListener('abort', () => {
            // Once timed out, the handler tries to write anyway, a moment later.
            const late = new Promise((resolve) => setImmediate(resolve)).then(() =>
              harness.sink.write(context.tx, `late-${context.attempt}`, 0),
            );
            late.catch(() => undefined); // inspected below, after the subscription moved on
            lateWrites.push(late);
          });
          return new Promise(() => undefined);
        }),
      });
      await subscription.start();
      await subscription.waitForPosition(3);
      const [parked] = await subscription.listParked();
      expect(parked).toMatchObject({ position: 2, attempts: 2 });
      expect(parked?.error.code).toBe(SubscriptionErrorCode.HANDLER_TIMEOUT);
      expect(parked?.error.message).toContain('50 ms');
      expect(signal?.aborted).toBe(true);
      const late = await Promise.allSettled(lateWrites);
      expect(late.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      const rows = await harness.sink.read(main.store);
      expect([...rows.keys()].sort()).toEqual(['1', '3']);
    });

    it('turns non-Error throws and garbage results into clear, parked errors', async () => {
      await append(5);
      const subscription = subscribe({
        retry: instantRetry(1),
        handler: (event) => {
          switch (event.position) {
            case 1:
              // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
              throw 'a string';
            case 2:
              // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
              throw undefined;
            case 3:
              return 42 as never;
            case 4:
              return { action: 'explode' } as never;
            default:
              return undefined;
          }
        },
      });
      await subscription.start();
      await subscription.waitForPosition(5);
      const parked = await subscription.listParked();
      expect(parked.map((p) => [p.position, p.error.code])).toEqual([
        [1, SubscriptionErrorCode.HANDLER_THREW_NON_ERROR],
        [2, SubscriptionErrorCode.HANDLER_THREW_NON_ERROR],
        [3, SubscriptionErrorCode.INVALID_HANDLER_RESULT],
        [4, SubscriptionErrorCode.INVALID_HANDLER_RESULT],
      ]);
      expect(parked[0]?.error.message).toContain('"a string"');
      expect(parked[1]?.error.message).toContain('undefined');
      expect(parked[2]?.error.message).toContain('number 42');
      expect(parked[3]?.error.message).toContain('{action}');
    });

    it('refuses bad options before starting', () => {
      const storage = main.storage;
      const handler = () => undefined;
      expect(() => new Subscription({ name: '', storage, handler })).toThrow(InvalidArgumentError);
      expect(() => new Subscription({ name: 'x', storage, handler: 5 as never })).toThrow(
        /handler/,
      );
      expect(() => new Subscription({ name: 'x', storage, handler, batchSize: 0 })).toThrow(
        /batchSize/,
      );
      expect(() => new Subscription({ name: 'x', storage: {} as never, handler })).toThrow(
        /storage/,
      );
      expect(
        () => new Subscription({ name: 'x', storage, handler, filter: { types: [''] } }),
      ).toThrow(/filter/);
      expect(() => new Subscription({ name: 'x', storage, handler, handlerTimeoutMs: -1 })).toThrow(
        /handlerTimeoutMs/,
      );
    });

    it('runs in one process at a time: a second fails clearly, or waits and takes over', async () => {
      await append(5);
      const byFirst: number[] = [];
      const first = subscribe({ handler: recording([], (e) => void byFirst.push(e.position)) });
      await first.start();
      await first.waitForPosition(5);

      const elsewhere = await other();
      const second = subscribe({ handler: () => undefined }, elsewhere);
      const error = await second.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SubscriptionLeasedError);
      expect((error as SubscriptionLeasedError).code).toBe(
        SubscriptionErrorCode.SUBSCRIPTION_LEASED,
      );
      expect((error as SubscriptionLeasedError).owner).toBe(first.owner);
      expect(second.status).toMatchObject({ state: 'stopped', error });

      const byThird: number[] = [];
      const third = subscribe(
        {
          lease: { ttlMs: 60_000, wait: true, retryIntervalMs: 10 },
          handler: recording([], (e) => void byThird.push(e.position)),
        },
        elsewhere,
      );
      const thirdStarted = third.start();
      const waiting = await statusWhere(third, (s) => s.state === 'waiting-for-lease', 'waiting');
      expect(waiting.leaseHolder?.owner).toBe(first.owner);
      await append(5);
      await first.waitForPosition(10);
      expect(byThird).toEqual([]);
      await first.stop();
      await thirdStarted;
      await append(5);
      await third.waitForPosition(15);
      expect(byFirst).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(byThird).toEqual([11, 12, 13, 14, 15]);
    });

    it('takes over an expired lease; the runner that lost it stops without committing more', async () => {
      await append(6);
      const clock = new ManualClock(1_000_000);
      const atThree = gate();
      const heldAtThree = gate();
      let taken: Promise<unknown> = new Promise(() => undefined);
      const first = subscribe({
        clock,
        batchSize: 1,
        lease: { ttlMs: 60_000 },
        handler: recording([], async (event) => {
          if (event.position === 3) {
            heldAtThree.open();
            await atThree.wait;
          }
          // Never gets past 5 before the takeover, whatever the interleaving.
          if (event.position === 5) await taken;
          return undefined;
        }),
      });
      await first.start();
      await heldAtThree.wait;
      // The runner is stuck past its lease's expiry (renewals are 20 s apart); another owner
      // takes the lease. (On SQLite that waits for the runner's open transaction.)
      clock.advance(61_000);
      taken = main.storage.leases.acquire('sub', 'intruder', 60_000, clock.now());
      atThree.open();
      expect(await taken).toMatchObject({ acquired: true });
      const atTakeover = (await main.storage.checkpoints.load('sub'))?.position ?? 0;
      const stopped = await statusWhere(first, (s) => s.state === 'stopped', 'the stop');
      expect(stopped.error).toBeInstanceOf(LeaseLostError);
      expect((stopped.error as LeaseLostError).code).toBe(SubscriptionErrorCode.LEASE_LOST);
      // Nothing committed after the takeover, and effects match the checkpoint exactly.
      const checkpoint = (await main.storage.checkpoints.load('sub'))?.position ?? 0;
      expect(checkpoint).toBe(atTakeover);
      expect(checkpoint).toBeLessThan(5);
      const rows = [...(await harness.sink.read(main.store)).keys()].map(Number);
      expect(rows.sort((a, b) => a - b)).toEqual(
        Array.from({ length: checkpoint }, (_, i) => i + 1),
      );
      expect((await main.storage.leases.get('sub'))?.owner).toBe('intruder');
    });

    it('lease epochs: grow with every change of hands, never reused; assertHeld checks them', async () => {
      const leases = main.storage.leases;
      const t = 1_000_000;
      expect(await leases.acquire('e', 'a', 1000, t)).toEqual({ acquired: true, epoch: 1 });
      // Taking one's own unexpired lease again is a renewal: the same epoch.
      expect(await leases.acquire('e', 'a', 1000, t + 10)).toEqual({ acquired: true, epoch: 1 });
      const refused = await leases.acquire('e', 'b', 1000, t + 20);
      expect(refused).toMatchObject({ acquired: false, holder: { owner: 'a', epoch: 1 } });
      expect(await leases.acquire('e', 'b', 1000, t + 1010)).toEqual({ acquired: true, epoch: 2 });
      // The same owner after its lease expired is a new holder: it may be another process.
      expect(await leases.acquire('e', 'b', 1000, t + 2020)).toEqual({ acquired: true, epoch: 3 });
      expect(await leases.get('e')).toMatchObject({ owner: 'b', epoch: 3 });
      // A released lease is gone, but its epoch is not reused.
      await leases.release('e', 'b');
      expect(await leases.get('e')).toBeUndefined();
      expect(await leases.acquire('e', 'b', 1000, t + 2030)).toEqual({ acquired: true, epoch: 4 });
      expect(await leases.acquire('other', 'b', 1000, t)).toEqual({ acquired: true, epoch: 1 });

      const check = (holder: string | { owner: string; epoch: number }) =>
        main.store.transaction((tx) => leases.assertHeld('e', holder, tx));
      await expect(check({ owner: 'b', epoch: 4 })).resolves.toBeUndefined();
      await expect(check('b')).resolves.toBeUndefined();
      for (const stale of [{ owner: 'b', epoch: 3 }, { owner: 'a', epoch: 4 }, 'a']) {
        const error = await check(stale).catch((e: unknown) => e);
        expect(error, JSON.stringify(stale)).toBeInstanceOf(LeaseLostError);
        expect(error).toMatchObject({ code: SubscriptionErrorCode.LEASE_LOST, subscription: 'e' });
      }
      await leases.release('e', 'b');
      await expect(check({ owner: 'b', epoch: 4 })).rejects.toThrow(LeaseLostError);
    });

    it('fences by epoch: a runner whose lease was retaken under its own owner name commits nothing more', async () => {
      await append(6);
      const clock = new ManualClock(1_000_000);
      const atThree = gate();
      const heldAtThree = gate();
      const firstEpochs = new Set<number | undefined>();
      const first = subscribe({
        clock,
        batchSize: 1,
        owner: 'node-1',
        handler: recording([], async (event, context) => {
          firstEpochs.add(context.lease?.epoch);
          if (event.position === 3) {
            heldAtThree.open();
            await atThree.wait;
          }
          return undefined;
        }),
      });
      await first.start();
      await heldAtThree.wait;
      const before = await main.storage.leases.get('sub');
      expect(before).toMatchObject({ owner: 'node-1' });
      expect([...firstEpochs]).toEqual([before?.epoch]);
      // The runner stalls past its lease; a restart of "the same" node (a fixed owner name)
      // takes the lease. (On SQLite that waits for the stalled runner's open transaction.)
      clock.advance(61_000);
      const restartedEpochs = new Set<number | undefined>();
      const restarted = subscribe({
        clock,
        owner: 'node-1',
        handler: recording([], (_event, context) => {
          restartedEpochs.add(context.lease?.epoch);
          return undefined;
        }),
      });
      const restartedStarted = restarted.start();
      atThree.open();
      await restartedStarted;
      const stopped = await statusWhere(first, (s) => s.state === 'stopped', 'the stop');
      expect(stopped.error).toBeInstanceOf(LeaseLostError);
      await restarted.waitForPosition(6);
      expect(await main.storage.leases.get('sub')).toMatchObject({
        owner: 'node-1',
        epoch: (before?.epoch ?? 0) + 1,
      });
      expect([...restartedEpochs]).toEqual([(before?.epoch ?? 0) + 1]);
      // Every event's effect exactly once, nothing parked, the restarted runner healthy.
      const rows = [...(await harness.sink.read(main.store)).keys()].map(Number);
      expect(rows.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await main.storage.parked.count('sub')).toBe(0);
      expect(restarted.status).toMatchObject({ running: true, error: undefined });
    });

    it('refuses to start with a checkpoint ahead of the log', async () => {
      await append(3);
      await main.storage.checkpoints.save('ahead', 10);
      const subscription = subscribe({ name: 'ahead', handler: () => undefined });
      const error = await subscription.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointAheadError);
      expect(error).toMatchObject({
        code: SubscriptionErrorCode.CHECKPOINT_AHEAD,
        checkpoint: 10,
        head: 3,
      });
      expect(subscription.status).toMatchObject({ state: 'stopped', error, running: false });
      // The lease was given back: fixing the checkpoint lets it start.
      await main.storage.checkpoints.save('ahead', 3);
      await subscription.start();
      expect(subscription.status.running).toBe(true);
    });

    it('withInbox makes a handler idempotent, its record rolled back with a failure', async () => {
      await append(4);
      const calls: number[] = [];
      let failOnce = true;
      const inner: EventHandler<Tx> = async (event, context) => {
        calls.push(event.position);
        await harness.sink.write(context.tx, String(event.position), event.position);
        if (event.position === 2 && failOnce) {
          failOnce = false;
          throw new Error('first try of 2 fails');
        }
      };
      const handler = withInbox(main.storage.inbox, 'consumer-a', inner);
      const one = subscribe({ handler, batchSize: 1 });
      await one.start();
      await one.waitForPosition(4);
      await one.stop();
      expect(calls).toEqual([1, 2, 2, 3, 4]);
      // Delivered again from the start: the inbox turns every repeat away.
      await main.storage.checkpoints.delete('sub');
      const two = subscribe({ handler, batchSize: 1 });
      await two.start();
      await two.waitForPosition(4);
      expect(calls).toEqual([1, 2, 2, 3, 4]);
      expect(await main.storage.inbox.has('consumer-a', (await firstEvent(main.store)).id)).toBe(
        true,
      );
      expect((await harness.sink.read(main.store)).size).toBe(4);
    });

    it('reads no further ahead than one batch while the handler is slow', async () => {
      await append(300);
      let read = 0;
      let handled = 0;
      let furthest = 0;
      const readAll: EventStore['readAll'] = (options) => {
        const inner = main.store.readAll(options);
        return {
          async *[Symbol.asyncIterator]() {
            for await (const event of inner) {
              read += 1;
              furthest = Math.max(furthest, read - handled);
              yield event;
            }
          },
        };
      };
      // The store, but counting what is read through it.
      const source = new Proxy(main.store, {
        get(target, property) {
          if (property === 'readAll') return readAll;
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
      const slow = gate();
      const subscription = subscribe({
        source,
        batchSize: 20,
        handler: async (event) => {
          if (event.position === 50) await slow.wait;
          handled += 1;
        },
      });
      await subscription.start();
      await eventually(() => handled === 49, 'the handler to reach 50');
      // Held at 50: what was read is the batches up to and including 50's.
      expect(read).toBe(60);
      slow.open();
      await subscription.waitForPosition(300);
      expect(furthest).toBeLessThanOrEqual(20);
    });

    it('stops promptly while backing off, and resumes at the failing event', async () => {
      await append(3);
      const subscription = subscribe({
        retry: { attempts: 5, baseDelayMs: 600_000, maxDelayMs: 600_000, random: () => 0.999 },
        handler: recording([], (event) => {
          if (event.position === 2) throw new Error('fails');
          return undefined;
        }),
      });
      await subscription.start();
      await statusWhere(subscription, (s) => s.failing?.position === 2, 'the first failure');
      const started = Date.now();
      await subscription.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(subscription.status).toMatchObject({
        state: 'stopped',
        error: undefined,
        position: 1,
      });
      expect(await subscription.parkedCount()).toBe(0);
      expect((await main.storage.checkpoints.load('sub'))?.position).toBe(1);
    });

    it('commits appends made through tx with the checkpoint; store writes inside are refused', async () => {
      for (let i = 1; i <= 3; i++)
        await main.store.append(stream(`order-${i}`), [ev('order.placed', i)]);
      const tries = new Map<number, number>();
      const saga = subscribe({
        name: 'saga',
        filter: { types: ['order.placed'] },
        handler: async (event, { tx }) => {
          const n = (tries.get(event.position) ?? 0) + 1;
          tries.set(event.position, n);
          // order-1..3 are at positions 1..3: one shipment stream per order.
          await tx.append(
            stream(`ship-order-${event.position}`),
            [ev('shipment.requested', event.position)],
            { expectedRevision: 'no_stream' },
          );
          if (event.position === 2 && n === 1) throw new Error('crash after appending');
        },
      });
      await saga.start();
      await saga.waitForPosition(3);
      const shipments: RecordedEvent[] = [];
      for await (const e of main.store.readAll({ filter: { types: ['shipment.requested'] } }))
        shipments.push(e);
      expect(shipments.map((e) => e.stream).sort()).toEqual(
        ['ship-order-1', 'ship-order-2', 'ship-order-3'].map(stream),
      );
      expect(await saga.parkedCount()).toBe(0);

      const misuse = subscribe({
        name: 'misuse',
        retry: instantRetry(1),
        filter: { types: ['order.placed'] },
        handler: async () => {
          await main.store.append(stream('elsewhere'), [ev('x.y', 0)]);
        },
      });
      await misuse.start();
      await misuse.waitForPosition(await main.store.headPosition());
      const [parked] = await misuse.listParked();
      expect(parked?.error.message).toContain('tx.append');
      expect((await main.store.streamInfo(stream('elsewhere'))).exists).toBe(false);
    });

    it('grows batches while catching up, up to their bound, and reads batchSize again once live', async () => {
      await appendBulk(300);
      const batches: number[][] = [];
      const subscription = subscribe({
        batchSize: 4,
        catchUp: { maxBatchSize: 64 },
        handler: recording(),
        batchHandler: async (events, context) => {
          batches.push(events.map((e) => e.position));
          for (const e of events) await harness.sink.write(context.tx, String(e.position), 1);
        },
      });
      await subscription.start();
      await subscription.waitForPosition(300);
      // Each full read doubles the next, to the bound; the short one met the head of the log.
      expect(batches.map((b) => b.length)).toEqual([4, 8, 16, 32, 64, 64, 64, 48]);
      expect(batches.flat()).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      await statusWhere(subscription, (s) => s.state === 'live', 'live');
      batches.length = 0;
      // Live: six events committed at once come in a batch of batchSize, then the rest.
      await main.store.appendMany(
        Array.from({ length: 6 }, (_, i) => ({
          stream: stream('live'),
          events: [ev('t.live', i)],
        })),
      );
      await subscription.waitForPosition(306);
      expect(batches).toEqual([
        [301, 302, 303, 304],
        [305, 306],
      ]);
      expect((await harness.sink.read(main.store)).size).toBe(306);
      expect((await main.storage.checkpoints.load('sub'))?.position).toBe(306);
    });

    it('grows batches by default, and keeps an explicit batchSize without catchUp', async () => {
      await appendBulk(450);
      const sizes: number[] = [];
      const batchHandler = (events: readonly RecordedEvent[]) => void sizes.push(events.length);
      const grown = subscribe({ name: 'grown', handler: () => undefined, batchHandler });
      await grown.start();
      await grown.waitForPosition(450);
      expect(sizes).toEqual([100, 200, 150]);
      sizes.length = 0;
      const fixed = subscribe({
        name: 'fixed',
        batchSize: 100,
        handler: () => undefined,
        batchHandler,
      });
      await fixed.start();
      await fixed.waitForPosition(450);
      expect(sizes).toEqual([100, 100, 100, 100, 50]);
      const bad = (catchUp: unknown) => () =>
        new Subscription({
          name: 'x',
          storage: main.storage,
          handler: () => undefined,
          batchSize: 10,
          catchUp: catchUp as never,
        });
      expect(bad({ maxBatchSize: 5 })).toThrow(/catchUp.maxBatchSize/);
      expect(bad({ maxBatchSize: 100_001 })).toThrow(/catchUp.maxBatchSize/);
      expect(bad({ maxBatchMs: 0 })).toThrow(/catchUp.maxBatchMs/);
      expect(bad('fast')).toThrow(/catchUp/);
    });

    it('commits a catch-up transaction once its handler calls pass maxBatchMs, never below batchSize', async () => {
      await appendBulk(100);
      const saved: number[] = [];
      const storage: SubscriptionStorage<Tx> = {
        ...main.storage,
        checkpoints: spyCheckpoints(main.storage.checkpoints, {
          save: (position) => saved.push(position),
        }),
      };
      const subscription = subscribe({
        storage,
        batchSize: 5,
        catchUp: { maxBatchSize: 1000, maxBatchMs: 100 },
        // Positions 36 to 55 are slow: five of them take longer than the bound.
        handler: recording([], async (event) => {
          if (event.position > 35 && event.position <= 55)
            await new Promise((resolve) => setTimeout(resolve, 40));
        }),
      });
      await subscription.start();
      await subscription.waitForPosition(100);
      // Reads of 5, 10 and 20, then one of 40 (36-75) cut after each five slow events.
      expect(saved.slice(0, 7)).toEqual([5, 15, 35, 40, 45, 50, 55]);
      const spans = saved.map((p, i) => p - (saved[i - 1] ?? 0));
      expect(spans.every((n) => n >= 5)).toBe(true);
      expect(Math.max(...spans)).toBeLessThanOrEqual(40);
      expect(saved[saved.length - 1]).toBe(100);
      expect((await harness.sink.read(main.store)).size).toBe(100);
    });

    it('after a failure in a batch, handles the events before it together and goes on in batches', async () => {
      await appendBulk(20);
      const saved: number[] = [];
      const storage: SubscriptionStorage<Tx> = {
        ...main.storage,
        checkpoints: spyCheckpoints(main.storage.checkpoints, {
          save: (position) => saved.push(position),
        }),
      };
      let failed = false;
      const subscription = subscribe({
        storage,
        batchSize: 10,
        handler: recording([], (event) => {
          if (event.position !== 5 || failed) return undefined;
          failed = true;
          throw new Error('once at 5');
        }),
      });
      await subscription.start();
      await subscription.waitForPosition(20);
      // 1-4 again in one transaction, 5 alone (its second attempt), then 6-10 together.
      expect(saved).toEqual([4, 5, 10, 20]);
      const rows = await harness.sink.read(main.store);
      expect([...rows.keys()].map(Number).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(await subscription.parkedCount()).toBe(0);
    });

    it('commits progress-only transactions without waiting for a flush, never one a handler took', async () => {
      await append(10);
      const relaxed: number[] = [];
      const saved = new Map<Tx, number>();
      const flushes: { position: number; waits: boolean | undefined }[] = [];
      const storage: SubscriptionStorage<Tx> = {
        ...main.storage,
        checkpoints: spyCheckpoints(main.storage.checkpoints, {
          save: (position, tx) => tx && saved.set(tx, position),
          relaxCommit: async (tx) => {
            const position = saved.get(tx) ?? -1;
            relaxed.push(position);
            flushes.push({ position, waits: await harness.commitWaitsForFlush?.(tx) });
          },
        }),
      };
      const subscription = subscribe({
        storage,
        batchSize: 1,
        // Writes through ctx.tx at 3 and 7 only; at 5 it looks at its signal, not the tx.
        handler: async (event, context) => {
          if (event.position === 5 && context.signal.aborted) throw new Error('aborted');
          if (event.position === 3 || event.position === 7)
            await harness.sink.write(context.tx, String(event.position), event.position);
        },
      });
      await subscription.start();
      await subscription.waitForPosition(10);
      expect(relaxed).toEqual([1, 2, 4, 5, 6, 8, 9, 10]);
      expect([...(await harness.sink.read(main.store)).keys()].sort()).toEqual(['3', '7']);
      expect((await main.storage.checkpoints.load('sub'))?.position).toBe(10);
      if (harness.commitWaitsForFlush) {
        // The adapter's own setting: relaxed for those transactions, and for them alone.
        const relaxes = main.storage.checkpoints.relaxCommit !== undefined;
        expect(flushes.every((f) => f.waits === !relaxes)).toBe(true);
        const waits = await main.store.transaction((tx) => harness.commitWaitsForFlush!(tx));
        expect(waits).toBe(true);
      }
      await subscription.stop();
      // In batches: a batch where a handler took the tx is durable; a batch of bare calls is not.
      relaxed.length = 0;
      await append(20);
      const batched = subscribe({
        name: 'batched',
        storage,
        batchSize: 10,
        handler: async (event, context) => {
          if (event.position === 15)
            await harness.sink.write(context.tx, String(event.position), event.position);
        },
      });
      await batched.start();
      await batched.waitForPosition(30);
      expect(relaxed).toEqual([10, 30]);
    });

    it('delivers events committed by another process, live', async (ctx) => {
      if (!harness.durable) ctx.skip();
      const seen: RecordedEvent[] = [];
      const subscription = subscribe({ handler: recording(seen) });
      await subscription.start();
      await statusWhere(subscription, (s) => s.state === 'live', 'live');
      const writer = await open();
      for (let i = 0; i < 5; i++) await writer.store.append(stream('remote'), [ev('t.remote', i)]);
      await subscription.waitForPosition(5);
      expect(seen.map((e) => e.stream)).toEqual(Array.from({ length: 5 }, () => stream('remote')));
    });
  });
}

/** A checkpoint store that reports saves and relaxed commits, then does what `inner` does. */
function spyCheckpoints<Tx extends StoreTransaction>(
  inner: CheckpointStore<Tx>,
  spy: {
    save?: (position: number, tx: Tx | undefined) => unknown;
    relaxCommit?: (tx: Tx) => Promise<void>;
  },
): CheckpointStore<Tx> {
  return {
    load: (name) => inner.load(name),
    // Reported as it is asked for: a subscription sends the save, the lease check and the
    // relaxed commit together, so the save may still be under way when relaxCommit is called.
    save: async (name, position, tx) => {
      spy.save?.(position, tx);
      await inner.save(name, position, tx);
    },
    delete: (name, tx) => inner.delete(name, tx),
    list: () => inner.list(),
    relaxCommit: async (tx) => {
      await inner.relaxCommit?.(tx);
      await spy.relaxCommit?.(tx);
    },
  };
}

async function firstEvent(store: EventStore): Promise<RecordedEvent> {
  return eventAt(store, 1);
}

async function eventAt(store: EventStore, position: number): Promise<RecordedEvent> {
  for await (const event of store.readAll({ from: position, limit: 1 })) return event;
  throw new Error(`no event at ${position}`);
}
