import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  InvalidArgumentError,
  WrongExpectedRevisionError,
  collect,
  type CausewayError,
  type EventInput,
  type StoreTransaction,
  type TransactionalEventStore,
} from '@causewayjs/core';

/** How the seams suite reaches one adapter. */
export interface SeamsHarness {
  /** Opens a store on this harness's database; several calls share it when durable. */
  open(): Promise<TransactionalEventStore>;
  /** True when two `open()` calls share data (another process, in effect). */
  durable: boolean;
  /** Drops the database; called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
  /**
   * Resolves once a store being watched hears other connections' commits (PostgreSQL: once
   * LISTEN is in place). Default: at once.
   */
  watching?(store: TransactionalEventStore): Promise<void>;
  /**
   * The name the suite's stream `name` has on this store (default: `name` itself): a
   * tenant-scoped store only serves `acme:t-1`. Names the suite uses to test refusals (empty)
   * are passed as they are.
   */
  stream?(name: string): string;
}

const ev = (type: string, n = 0): EventInput => ({ type, data: { n } });

/** Resolves once `check` holds, polling; fails after `timeoutMs`. */
async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * The two seams of the read side (DESIGN.md §3: Subscriptions, Transactions), run against
 * every adapter: `watch` (commit notification) and `transaction` (unit of work).
 */
export function describeSubscriptionSeamsConformance(
  name: string,
  makeHarness: () => Promise<SeamsHarness>,
): void {
  describe(`EventStore seams conformance: ${name}`, () => {
    let harness: SeamsHarness;
    /** The suite's stream `name` as this harness names it. */
    const stream = (name: string) => harness.stream?.(name) ?? name;
    let store: TransactionalEventStore;
    const opened: TransactionalEventStore[] = [];
    const open = async () => {
      const s = await harness.open();
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      harness = await makeHarness();
      store = await open();
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await harness.cleanup();
    });

    describe('watch', () => {
      it('reports appends, appendMany and committed transactions, with their head', async () => {
        const seen: number[] = [];
        const stop = store.watch((p) => seen.push(p));
        const a = await store.append(stream('w-1'), [ev('w.one'), ev('w.two')]);
        expect(seen).toContain(a.position);
        const [, b] = await store.appendMany([
          { stream: stream('w-2'), events: [ev('w.one')] },
          { stream: stream('w-3'), events: [ev('w.one')] },
        ]);
        expect(seen).toContain(b?.position);
        const c = await store.transaction((tx) => tx.append(stream('w-4'), [ev('w.one')]));
        expect(seen).toContain(c.position);
        expect(Math.max(...seen)).toBe(5);
        stop();
      });

      it('says nothing for a rolled-back transaction or after unwatching', async () => {
        const seen: number[] = [];
        const stop = store.watch((p) => seen.push(p));
        await expect(
          store.transaction(async (tx) => {
            await tx.append(stream('w-1'), [ev('w.one')]);
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        expect(seen.filter((p) => p > 0)).toEqual([]);
        stop();
        await store.append(stream('w-1'), [ev('w.one')]);
        expect(seen.filter((p) => p > 0)).toEqual([]);
      });

      it('calls a listener that throws without failing the append, and others still hear', async () => {
        const seen: number[] = [];
        const stopBad = store.watch(() => {
          throw new Error('listener bug');
        });
        const stopGood = store.watch((p) => seen.push(p));
        await expect(store.append(stream('w-1'), [ev('w.one')])).resolves.toMatchObject({
          position: 1,
        });
        expect(seen).toContain(1);
        stopBad();
        stopGood();
      });

      it('tells watchers once when the store closes', async () => {
        const seen: number[] = [];
        store.watch((p) => seen.push(p));
        await store.close();
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((p) => p === 0)).toBe(true);
      });

      it('refuses a listener that is not a function', () => {
        expect(() => store.watch(42 as never)).toThrow(InvalidArgumentError);
      });

      it('hears commits made through another connection to the same database', async (ctx) => {
        if (!harness.durable) ctx.skip();
        const other = await open();
        let highest = 0;
        const stop = store.watch((p) => (highest = Math.max(highest, p)));
        await harness.watching?.(store);
        const { position } = await other.append(stream('w-remote'), [ev('w.one'), ev('w.two')]);
        // Another connection's commit arrives by polling or LISTEN: wait for it.
        await eventually(() => highest >= position, 'the remote commit to be reported');
        stop();
      });
    });

    describe('transaction', () => {
      it('commits its appends together, with the same results as append', async () => {
        await store.append(stream('t-0'), [ev('t.first')]);
        const results = await store.transaction(async (tx) => {
          const one = await tx.append(stream('t-1'), [ev('t.a'), ev('t.b')], {
            expectedRevision: 'no_stream',
          });
          const many = await tx.appendMany([
            { stream: stream('t-2'), events: [ev('t.c')] },
            { stream: stream('t-1'), events: [ev('t.d')], expectedRevision: 1 },
          ]);
          return [one, ...many];
        });
        expect(results).toEqual([
          { stream: stream('t-1'), revision: 1, position: 3 },
          { stream: stream('t-2'), revision: 0, position: 4 },
          { stream: stream('t-1'), revision: 2, position: 5 },
        ]);
        const all = await collect(store.readAll());
        expect(all.map((e) => [e.stream, e.revision, e.position])).toEqual([
          [stream('t-0'), 0, 1],
          [stream('t-1'), 0, 2],
          [stream('t-1'), 1, 3],
          [stream('t-2'), 0, 4],
          [stream('t-1'), 2, 5],
        ]);
        expect(await store.headPosition()).toBe(5);
      });

      it('hides its appends from readers until it commits', async () => {
        await store.append(stream('t-0'), [ev('t.first')]);
        await store.transaction(async (tx) => {
          await tx.append(stream('t-1'), [ev('t.a')]);
          expect((await collect(store.readAll())).map((e) => e.position)).toEqual([1]);
          expect(await store.headPosition()).toBe(1);
          expect((await store.streamInfo(stream('t-1'))).exists).toBe(false);
        });
        expect((await collect(store.readAll())).map((e) => e.position)).toEqual([1, 2]);
      });

      it('rolls everything back when its work throws, passing the error on as is', async () => {
        await store.append(stream('t-0'), [ev('t.first')]);
        const boom = new Error('work failed');
        const error = await store
          .transaction(async (tx) => {
            await tx.append(stream('t-1'), [ev('t.a'), ev('t.b')]);
            throw boom;
          })
          .catch((e: unknown) => e);
        expect(error).toBe(boom);
        expect(await store.headPosition()).toBe(1);
        expect((await store.streamInfo(stream('t-1'))).exists).toBe(false);
        // Positions stay gapless: the next append takes the rolled-back ones.
        const next = await store.append(stream('t-2'), [ev('t.c')]);
        expect(next.position).toBe(2);
      });

      it('rolls back when its work throws synchronously, and stays usable', async () => {
        const boom = new Error('thrown at once');
        await expect(
          store.transaction(() => {
            throw boom;
          }),
        ).rejects.toBe(boom);
        await expect(
          store.transaction((tx) => tx.append(stream('t-1'), [ev('t.a')])),
        ).resolves.toMatchObject({ position: 1 });
        await expect(store.append(stream('t-1'), [ev('t.b')])).resolves.toMatchObject({
          position: 2,
        });
      });

      it('checks expected revisions inside; a failed append leaves the rest usable', async () => {
        await store.append(stream('t-1'), [ev('t.a')]);
        const position = await store.transaction(async (tx) => {
          await expect(
            tx.append(stream('t-1'), [ev('t.b')], { expectedRevision: 'no_stream' }),
          ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
          return (await tx.append(stream('t-1'), [ev('t.b')], { expectedRevision: 0 })).position;
        });
        expect(position).toBe(2);
        expect((await collect(store.readStream(stream('t-1')))).map((e) => e.type)).toEqual([
          't.a',
          't.b',
        ]);
      });

      it('makes the store wait: an append issued meanwhile lands after it', async () => {
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let inside: () => void = () => undefined;
        const entered = new Promise<void>((resolve) => (inside = resolve));
        const tx = store.transaction(async (t) => {
          await t.append(stream('t-1'), [ev('t.a')]);
          inside();
          await gate;
          await t.append(stream('t-1'), [ev('t.b')]);
        });
        await entered;
        const outside = store.append(stream('t-2'), [ev('t.c')]);
        release();
        await tx;
        const { position } = await outside;
        expect(position).toBe(3);
        expect((await collect(store.readAll())).map((e) => e.stream)).toEqual([
          stream('t-1'),
          stream('t-1'),
          stream('t-2'),
        ]);
      });

      it("refuses the store's own writes from inside its work, naming the way out", async () => {
        const error = await store
          .transaction(async () => {
            await store.append(stream('t-1'), [ev('t.a')]);
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as CausewayError).code).toBe(ErrorCode.INVALID_ARGUMENT);
        expect((error as Error).message).toContain('tx.append');
        await expect(
          store.transaction(() => store.transaction(() => Promise.resolve(1))),
        ).rejects.toBeInstanceOf(InvalidArgumentError);
        // Outside, all is well again.
        await expect(store.append(stream('t-1'), [ev('t.a')])).resolves.toMatchObject({
          position: 1,
        });
      });

      it('runs onCommit callbacks after the commit only, and refuses a used-up tx', async () => {
        const calls: string[] = [];
        let kept: StoreTransaction | undefined;
        await store.transaction((tx) => {
          kept = tx;
          tx.onCommit(() => calls.push('committed'));
          expect(tx.active).toBe(true);
          return Promise.resolve();
        });
        expect(calls).toEqual(['committed']);
        expect(kept?.active).toBe(false);
        await expect(kept?.append(stream('t-1'), [ev('t.a')])).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        await store
          .transaction((tx) => {
            tx.onCommit(() => calls.push('never'));
            return Promise.reject(new Error('no'));
          })
          .catch(() => undefined);
        expect(calls).toEqual(['committed']);
      });

      it('validates its arguments before touching the database', async () => {
        await expect(store.transaction('nope' as never)).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        await store.transaction(async (tx) => {
          await expect(tx.append('', [ev('t.a')])).rejects.toMatchObject({
            code: ErrorCode.INVALID_STREAM_NAME,
          });
          await expect(tx.append(stream('t-1'), [])).rejects.toMatchObject({
            code: ErrorCode.EMPTY_APPEND,
          });
        });
        expect(await store.headPosition()).toBe(0);
      });

      it('keeps the global order across processes appending in transactions', async (ctx) => {
        if (!harness.durable) ctx.skip();
        const other = await open();
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? store : other).transaction(async (tx) => {
              await tx.append(stream(`t-${i}`), [ev('t.a', i)]);
              await tx.append(stream(`t-${i}`), [ev('t.b', i)], { expectedRevision: 0 });
            }),
          ),
        );
        const all = await collect(store.readAll());
        expect(all.map((e) => e.position)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        // Each transaction's two events are adjacent: nothing interleaved within one commit.
        for (let i = 0; i < 20; i += 2) expect(all[i]?.stream).toBe(all[i + 1]?.stream);
      });
    });
  });
}
