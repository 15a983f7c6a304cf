import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import {
  type CausewayError,
  StreamDeletedError,
  WrongExpectedRevisionError,
} from '../core/errors.js';
import { isUuid, newId } from '../core/ids.js';
import { collect } from '../store/collect.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import {
  OrderRuleError,
  OrderStatusError,
  orderDecider,
  type OrderCommand,
  type OrderEvent,
  type OrderState,
} from '../../../../examples/shop/order-decider.js';
import { CommandHandler, handleCommand, type CommandHandlerOptions } from './command-handler.js';
import { type Decider, fold, type DomainEvent } from './decider.js';
import {
  InvalidCommandError,
  InvalidDecisionError,
  InvalidSnapshotError,
  SnapshotsNotConfiguredError,
} from './domain-errors.js';
import type { ForgottenSubjects } from './forgotten-subjects.js';
import { MemorySnapshotStore } from './memory-snapshot-store.js';
import { everyNEvents, explicitSnapshots } from './snapshot-policy.js';

const place = (customerId = 'c-7'): OrderCommand => ({
  type: 'order.place',
  data: { customerId, lines: [{ sku: 'tea', quantity: 2, unitPrice: 450 }] },
});
const addLine = (sku: string, unitPrice = 100): OrderCommand => ({
  type: 'order.add-line',
  data: { sku, quantity: 1, unitPrice },
});

/** Sleeps that return at once but remember what they were asked to wait. */
function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: (ms: number) => (delays.push(ms), Promise.resolve()) };
}

describe('CommandHandler', () => {
  let store: MemoryEventStore;
  let handler: CommandHandler<OrderCommand, OrderEvent, OrderState>;
  const make = (
    options: Partial<CommandHandlerOptions<OrderCommand, OrderEvent, OrderState>> = {},
  ) => new CommandHandler({ store, decider: orderDecider, ...options });

  beforeEach(() => {
    store = new MemoryEventStore();
    handler = make();
  });

  afterEach(async () => {
    await store.close();
  });

  describe('deciding and appending', () => {
    it('appends the decided events to a new stream and returns state, events, revision and position', async () => {
      await store.append('other-1', [{ type: 'x', data: null }]);
      const result = await handler.handle('order-1', place());
      expect(result.state).toMatchObject({ status: 'placed', customerId: 'c-7', total: 900 });
      expect(result.revision).toBe(0);
      expect(result.position).toBe(2);
      expect(result.attempts).toBe(1);
      const stored = await collect(store.readStream('order-1'));
      expect(stored).toHaveLength(1);
      const { recordedAt: _recordedAt, schemaVersion: _schemaVersion, ...envelope } = stored[0]!;
      expect(result.events).toEqual([envelope]);
    });

    it('continues an existing stream at the exact revision and folds the state', async () => {
      await handler.handle('order-2', place());
      await handler.handle('order-2', addLine('cup', 1200));
      const result = await handler.handle('order-2', { type: 'order.pay', data: { amount: 2100 } });
      expect(result.revision).toBe(2);
      expect(result.events.map((e) => [e.type, e.revision, e.position])).toEqual([
        ['order.paid', 2, 3],
      ]);
      expect(result.state).toEqual(
        fold(orderDecider, (await collect(store.readStream('order-2'))) as unknown as OrderEvent[]),
      );
    });

    it('gives consecutive revisions and positions to several events of one command', async () => {
      const multi: Decider<OrderCommand, OrderEvent, OrderState> = {
        ...orderDecider,
        decide: (command, state) => [
          ...(orderDecider.decide(command, state) as OrderEvent[]),
          {
            type: 'order.line-added',
            data: { line: 2, sku: 'gift-wrap', quantity: 1, unitPrice: 0 },
          },
        ],
      };
      await store.append('noise-1', [{ type: 'x', data: 1 }]);
      const result = await handleCommand({ store, decider: multi }, 'order-3', place());
      expect(result.events.map((e) => [e.revision, e.position])).toEqual([
        [0, 2],
        [1, 3],
      ]);
      const stored = await collect(store.readStream('order-3'));
      expect(stored.map((e) => [e.id, e.revision, e.position])).toEqual(
        result.events.map((e) => [e.id, e.revision, e.position]),
      );
      expect(result.state.lines).toHaveLength(2);
    });
  });

  describe('metadata', () => {
    it("copies the command metadata onto every event, with the command id as causation id and the command's cause kept", async () => {
      const id = newId();
      const metadata = {
        correlationId: 'req-91',
        causationId: 'upstream-3',
        actor: 'alice',
        tenant: 't-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        channel: 'web',
      };
      await handler.handle('order-4', { ...place(), id, metadata });
      const [event] = await collect(store.readStream('order-4'));
      expect(event?.metadata).toEqual({
        ...metadata,
        causationId: id,
        commandCausationId: 'upstream-3',
        correlationId: 'req-91',
      });
    });

    it('defaults the correlation id to the command id, generating one when missing', async () => {
      await handler.handle('order-5', place());
      const [event] = await collect(store.readStream('order-5'));
      const causationId = event?.metadata.causationId;
      expect(isUuid(causationId)).toBe(true);
      expect(event?.metadata.correlationId).toBe(causationId);
    });

    it('lets an event add its own metadata', async () => {
      const decider: Decider<OrderCommand, OrderEvent, OrderState> = {
        ...orderDecider,
        decide: (c, s) =>
          (orderDecider.decide(c, s) as OrderEvent[]).map((e) => ({
            ...e,
            metadata: { rule: 'r-1' },
          })),
      };
      await handleCommand({ store, decider }, 'order-6', {
        ...place(),
        metadata: { actor: 'bob' },
      });
      const [event] = await collect(store.readStream('order-6'));
      expect(event?.metadata).toMatchObject({ actor: 'bob', rule: 'r-1' });
    });
  });

  describe('rejections', () => {
    it('gives a domain error back unchanged and appends nothing', async () => {
      await handler.handle('order-7', place());
      const head = await store.headPosition();
      const error = await handler.handle('order-7', place()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OrderStatusError);
      expect(error).toMatchObject({ status: 'placed' });
      expect(await store.headPosition()).toBe(head);
      await expect(
        handler.handle('order-7', { type: 'order.pay', data: { amount: 1 } }),
      ).rejects.toBeInstanceOf(OrderRuleError);
      expect(await store.headPosition()).toBe(head);
    });

    it('returns the very error object decide threw', async () => {
      const thrown = new Error('nope');
      const decider: Decider<OrderCommand, OrderEvent, OrderState> = {
        ...orderDecider,
        decide: () => Promise.reject(thrown),
      };
      await expect(handleCommand({ store, decider }, 'order-8', place())).rejects.toBe(thrown);
      expect(await store.headPosition()).toBe(0);
    });

    const badCommands: [string, unknown][] = [
      ['null', null],
      ['a string', 'order.place'],
      ['an array', [{ type: 'order.place' }]],
      ['an object without type', { data: {} }],
      ['a numeric type', { type: 7, data: {} }],
      ['an empty type', { type: '', data: {} }],
      ['an id that is not a UUID', { ...place(), id: 'cmd-1' }],
      ['metadata that is not an object', { ...place(), metadata: ['actor'] }],
      ['a well-known metadata key that is not a string', { ...place(), metadata: { actor: 42 } }],
    ];
    for (const [what, command] of badCommands) {
      it(`refuses ${what} with InvalidCommandError before deciding`, async () => {
        let decided = false;
        const decider: Decider<OrderCommand, OrderEvent, OrderState> = {
          ...orderDecider,
          decide: (c, s) => ((decided = true), orderDecider.decide(c, s)),
        };
        const error = await handleCommand(
          { store, decider },
          'order-9',
          command as OrderCommand,
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidCommandError);
        expect((error as CausewayError).code).toBe('INVALID_COMMAND');
        expect(decided).toBe(false);
        expect(await store.headPosition()).toBe(0);
      });
    }

    const badDecisions: [string, unknown][] = [
      ['not an array', { type: 'order.placed', data: {} }],
      ['an event that is not an object', ['order.placed']],
      ['an event without a type', [{ data: {} }]],
      ['an event without data', [{ type: 'order.placed' }]],
    ];
    for (const [what, decision] of badDecisions) {
      it(`refuses a decision that is ${what}, appending nothing`, async () => {
        const decider = { ...orderDecider, decide: () => decision } as unknown as Decider<
          OrderCommand,
          OrderEvent,
          OrderState
        >;
        await expect(handleCommand({ store, decider }, 'order-10', place())).rejects.toBeInstanceOf(
          InvalidDecisionError,
        );
        expect(await store.headPosition()).toBe(0);
      });
    }

    it('fails on a tombstoned stream', async () => {
      await handler.handle('order-11', place());
      await store.deleteStream('order-11', { hard: true });
      await expect(handler.handle('order-11', addLine('x'))).rejects.toBeInstanceOf(
        StreamDeletedError,
      );
    });
  });

  describe('deciding nothing', () => {
    it('appends nothing and returns the current state, revision and position', async () => {
      await handler.handle('order-12', place());
      await handler.handle('order-12', { type: 'order.pay', data: { amount: 900 } });
      const shipped = await handler.handle('order-12', {
        type: 'order.ship',
        data: { trackingNumber: 'T1' },
      });
      await store.append('noise-1', [{ type: 'x', data: 1 }]);
      const again = await handler.handle('order-12', {
        type: 'order.ship',
        data: { trackingNumber: 'T2' },
      });
      expect(again.events).toEqual([]);
      expect(again.state).toEqual(shipped.state);
      expect(again.revision).toBe(2);
      expect(again.position).toBe(shipped.position);
      expect(await store.headPosition()).toBe(4);
    });

    it('returns null revision and position for a stream that stays empty', async () => {
      const decider: Decider<OrderCommand, OrderEvent, OrderState> = {
        ...orderDecider,
        decide: () => [],
      };
      const result = await handleCommand({ store, decider }, 'order-13', place());
      expect(result).toMatchObject({
        events: [],
        revision: null,
        position: null,
        state: { status: 'none' },
      });
      expect((await store.streamInfo('order-13')).exists).toBe(false);
    });
  });

  describe('concurrency', () => {
    /** A decider whose first `conflicts` decisions are overtaken by a write from elsewhere. */
    function overtaken(conflicts: number) {
      let left = conflicts;
      const decider: Decider<OrderCommand, OrderEvent, OrderState> = {
        ...orderDecider,
        decide: async (command, state) => {
          if (left > 0) {
            left--;
            await store.append('order-20', [
              {
                type: 'order.line-added',
                data: {
                  line: state.lines.length + 1,
                  sku: `rival-${left}`,
                  quantity: 1,
                  unitPrice: 1,
                },
              },
            ]);
          }
          return orderDecider.decide(command, state);
        },
      };
      return decider;
    }

    it('retries after a concurrent write, deciding again on the fresh state', async () => {
      await handler.handle('order-20', place());
      const { delays, sleep } = recordingSleep();
      const result = await handleCommand(
        { store, decider: overtaken(2), retry: { sleep, random: () => 0.5 } },
        'order-20',
        addLine('cup'),
      );
      expect(result.attempts).toBe(3);
      expect(delays).toEqual([2, 5]); // half of 5 and of 10
      expect(result.state.lines.map((l) => [l.line, l.sku])).toEqual([
        [1, 'tea'],
        [2, 'rival-1'],
        [3, 'rival-0'],
        [4, 'cup'],
      ]);
      expect(result.revision).toBe(3);
    });

    it('surfaces the conflict once the attempts are used up, with nothing of its own appended', async () => {
      await handler.handle('order-20', place());
      const { delays, sleep } = recordingSleep();
      const error = await handleCommand(
        {
          store,
          decider: overtaken(10),
          retry: { attempts: 3, sleep, random: () => 0.999, baseDelayMs: 10, maxDelayMs: 15 },
        },
        'order-20',
        addLine('cup'),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(delays).toEqual([9, 14]); // capped by maxDelayMs
      const skus = (await collect(store.readStream('order-20'))).map(
        (e) => (e.data as { sku?: string }).sku,
      );
      expect(skus).not.toContain('cup');
    });

    it('with attempts: 1 does not retry', async () => {
      await handler.handle('order-20', place());
      const { delays, sleep } = recordingSleep();
      await expect(
        handleCommand(
          { store, decider: overtaken(1), retry: { attempts: 1, sleep } },
          'order-20',
          addLine('cup'),
        ),
      ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      expect(delays).toEqual([]);
    });

    it('20 concurrent commands on one aggregate all succeed, and the state is the log folded in order', async () => {
      const contended = make({ retry: { attempts: 20, sleep: () => Promise.resolve() } });
      await contended.handle('order-30', place());
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          contended.handle('order-30', addLine(`sku-${i}`, i + 1)),
        ),
      );
      expect(results.some((r) => r.attempts > 1)).toBe(true);
      const log = await collect(store.readStream('order-30'));
      expect(log).toHaveLength(21);
      // Each command saw the state the log shows just before its event.
      for (const result of results) {
        const upTo = log.slice(0, (result.revision ?? -1) + 1) as unknown as OrderEvent[];
        expect(result.state).toEqual(fold(orderDecider, upTo));
      }
      const final = fold(orderDecider, log as unknown as OrderEvent[]);
      expect(final.lines.map((l) => l.line)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
      expect(final.lines.map((l) => l.sku).sort()).toEqual(
        ['tea', ...Array.from({ length: 20 }, (_, i) => `sku-${i}`)].sort(),
      );
      const last = results.reduce((a, b) => ((a.revision ?? -1) > (b.revision ?? -1) ? a : b));
      expect(last.state).toEqual(final);
      expect(new Set(results.map((r) => r.revision)).size).toBe(20);
    });

    it('refuses bad retry options', () => {
      expect(() => make({ retry: { attempts: 0 } })).toThrow(/retry.attempts/);
      expect(() => make({ retry: { baseDelayMs: -1 } })).toThrow(/retry.baseDelayMs/);
    });
  });

  describe('snapshots', () => {
    let snapshots: MemorySnapshotStore;
    const clock = new ManualClock(Date.parse('2026-02-01T00:00:00Z'));
    beforeEach(() => {
      snapshots = new MemorySnapshotStore();
    });

    async function orderWithLines(
      h: CommandHandler<OrderCommand, OrderEvent, OrderState>,
      stream: string,
      lines: number,
    ) {
      await h.handle(stream, place());
      for (let i = 0; i < lines; i++) await h.handle(stream, addLine(`sku-${i}`));
    }

    it('every N events: saves a snapshot once N events have passed since the last one', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@1', policy: everyNEvents(4) },
        clock,
      });
      await orderWithLines(h, 'order-40', 2); // revisions 0..2
      expect(await snapshots.load('order-40', 'order@1')).toBeUndefined();
      await h.handle('order-40', addLine('x')); // revision 3: 4 events since the start
      expect(await snapshots.load('order-40', 'order@1')).toMatchObject({
        revision: 3,
        takenAt: new Date('2026-02-01T00:00:00Z'),
      });
      for (let i = 0; i < 3; i++) await h.handle('order-40', addLine(`y-${i}`)); // 4..6
      expect((await snapshots.load('order-40', 'order@1'))?.revision).toBe(3);
      await h.handle('order-40', addLine('z')); // 7
      const snap = await snapshots.load<OrderState>('order-40', 'order@1');
      expect(snap?.revision).toBe(7);
      expect(snap?.state).toEqual(
        fold(
          orderDecider,
          (await collect(store.readStream('order-40'))) as unknown as OrderEvent[],
        ),
      );
    });

    it('loads from the newest snapshot and reads only the tail', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@1', policy: explicitSnapshots() },
      });
      await orderWithLines(h, 'order-41', 9); // revisions 0..9
      await h.snapshot('order-41');
      await h.handle('order-41', addLine('after-1'));
      await h.handle('order-41', addLine('after-2'));
      const loaded = await h.load('order-41');
      expect(loaded).toMatchObject({ snapshotRevision: 9, eventsRead: 2, revision: 11 });
      expect(loaded.state).toEqual((await make().load('order-41')).state);
    });

    it('uses the snapshot state as is (a doctored one shows through) when its key matches', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@1', policy: explicitSnapshots() },
      });
      await orderWithLines(h, 'order-42', 1);
      const doctored: OrderState = {
        status: 'placed',
        customerId: 'from-snapshot',
        lines: [],
        total: 0,
      };
      await snapshots.save('order-42', {
        revision: 1,
        stateVersion: 'order@1',
        state: doctored,
        takenAt: new Date(),
      });
      expect((await h.load('order-42')).state.customerId).toBe('from-snapshot');
    });

    it('ignores snapshots under another state version key', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@2', policy: explicitSnapshots() },
      });
      await orderWithLines(h, 'order-43', 1);
      const old = { shape: 'of an older evolve' };
      await snapshots.save('order-43', {
        revision: 1,
        stateVersion: 'order@1',
        state: old,
        takenAt: new Date(),
      });
      const loaded = await h.load('order-43');
      expect(loaded.snapshotRevision).toBe(-1);
      expect(loaded.state.customerId).toBe('c-7');
      // And the new handler's commands work from the folded state.
      expect((await h.handle('order-43', addLine('cup'))).state.lines).toHaveLength(3);
    });

    it('ignores a snapshot beyond the end of the stream', async () => {
      const h = make({ snapshots: { store: snapshots, stateVersion: 'order@1' } });
      await orderWithLines(h, 'order-44', 1);
      await snapshots.save('order-44', {
        revision: 50,
        stateVersion: 'order@1',
        state: { bogus: true },
        takenAt: new Date(),
      });
      expect(await h.load('order-44')).toMatchObject({
        snapshotRevision: -1,
        revision: 1,
        state: { customerId: 'c-7' },
      });
    });

    it('never applies a snapshot of history hidden by a soft delete', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@1', policy: explicitSnapshots() },
      });
      await orderWithLines(h, 'order-45', 2);
      await h.snapshot('order-45'); // covers revisions 0..2
      await store.deleteStream('order-45');
      const fresh = await h.handle('order-45', place('c-new')); // revives the stream at revision 3
      expect(fresh.state).toMatchObject({ customerId: 'c-new', lines: [{ line: 1, sku: 'tea' }] });
      expect(fresh.revision).toBe(3);
      await h.snapshot('order-45');
      expect(await h.load('order-45')).toMatchObject({
        snapshotRevision: 3,
        eventsRead: 0,
        state: { customerId: 'c-new' },
      });
    });

    it('appends after a snapshot that covers the whole stream at the right revision', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@1', policy: everyNEvents(1) },
      });
      await orderWithLines(h, 'order-46', 3);
      expect(await h.load('order-46')).toMatchObject({ snapshotRevision: 3, eventsRead: 0 });
      const result = await h.handle('order-46', addLine('next'));
      expect(result.revision).toBe(4);
      const noop = await h.handle('order-46', place('c-again')).catch((e: unknown) => e);
      expect(noop).toBeInstanceOf(OrderStatusError);
    });

    it('reports the position of the last event for a no-op decided from a snapshot alone', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@1', policy: everyNEvents(1) },
      });
      await h.handle('order-47', place());
      await h.handle('order-47', { type: 'order.pay', data: { amount: 900 } });
      const shipped = await h.handle('order-47', {
        type: 'order.ship',
        data: { trackingNumber: 'T' },
      });
      await store.append('noise', [{ type: 'x', data: 1 }]);
      const again = await h.handle('order-47', {
        type: 'order.ship',
        data: { trackingNumber: 'T' },
      });
      expect(again).toMatchObject({ events: [], revision: 2, position: shipped.position });
    });

    it('explicit snapshot: returns the snapshot, or undefined for an empty stream', async () => {
      const h = make({
        snapshots: { store: snapshots, stateVersion: 'order@1', policy: explicitSnapshots() },
        clock,
      });
      expect(await h.snapshot('order-48')).toBeUndefined();
      await orderWithLines(h, 'order-48', 1);
      expect(await snapshots.load('order-48', 'order@1')).toBeUndefined();
      const snap = await h.snapshot('order-48');
      expect(snap).toMatchObject({
        revision: 1,
        stateVersion: 'order@1',
        takenAt: new Date('2026-02-01T00:00:00Z'),
      });
      expect(await snapshots.load('order-48', 'order@1')).toEqual(snap);
    });

    it('explicit snapshot without a snapshot store is a named error', async () => {
      await expect(make().snapshot('order-49')).rejects.toBeInstanceOf(SnapshotsNotConfiguredError);
    });

    it('a failing snapshot save does not fail the command; it is reported to onError', async () => {
      type WeirdState = OrderState & { seen?: Date };
      const decider: Decider<OrderCommand, OrderEvent, WeirdState> = {
        ...orderDecider,
        evolve: (s, e) => ({ ...orderDecider.evolve(s, e), seen: new Date(0) }),
      };
      const errors: unknown[] = [];
      const result = await handleCommand(
        {
          store,
          decider,
          snapshots: {
            store: snapshots,
            stateVersion: 'w@1',
            policy: everyNEvents(1),
            onError: (e) => errors.push(e),
          },
        },
        'order-50',
        place(),
      );
      expect(result.revision).toBe(0);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(InvalidSnapshotError);
      expect(await store.headPosition()).toBe(1);
    });
  });
});

describe('snapshots and forgotten encryption subjects', () => {
  type NoteCommand = { type: 'note.add'; data: { text: string; subject?: string } };
  type NoteEvent = DomainEvent<'note.added', { text: string }>;
  /** Notes whose events say, as an encrypting store's would, whose personal data they hold. */
  const noteDecider: Decider<NoteCommand, NoteEvent, string[]> = {
    initialState: () => [],
    decide: ({ data: { text, subject } }) => [
      {
        type: 'note.added',
        data: { text },
        ...(subject === undefined
          ? {}
          : { metadata: { encryption: { v: 1, subject, fields: ['$.text'] } } }),
      },
    ],
    evolve: (state, event) => [...state, event.data.text],
  };
  const note = (text: string, subject?: string): NoteCommand => ({
    type: 'note.add',
    data: subject === undefined ? { text } : { text, subject },
  });

  let store: MemoryEventStore;
  let snapshots: MemorySnapshotStore;
  let forgotten: Set<string>;
  const forgottenSubjects: ForgottenSubjects = {
    subjectForgotten: (subject) => Promise.resolve(forgotten.has(subject)),
  };
  const make = (
    options: { decider?: Decider<NoteCommand, NoteEvent, string[]>; aware?: boolean } = {},
  ) =>
    new CommandHandler({
      store,
      decider: options.decider ?? noteDecider,
      snapshots: {
        store: snapshots,
        stateVersion: 'notes@1',
        policy: everyNEvents(1),
        ...(options.aware === false ? {} : { forgottenSubjects }),
      },
    });

  beforeEach(() => {
    store = new MemoryEventStore();
    snapshots = new MemorySnapshotStore();
    forgotten = new Set();
  });

  afterEach(async () => {
    await store.close();
  });

  it('records in each snapshot the subjects of the events folded into it', async () => {
    const h = make();
    await h.handle('notes-1', note('a', 'c-1'));
    expect(await snapshots.load('notes-1', 'notes@1')).toMatchObject({ subjects: ['c-1'] });
    await h.handle('notes-1', note('b'));
    expect(await snapshots.load('notes-1', 'notes@1')).toMatchObject({
      revision: 1,
      subjects: ['c-1'],
    });
    await h.handle('notes-1', note('c', 'c-2'));
    expect(await snapshots.load('notes-1', 'notes@1')).toMatchObject({
      revision: 2,
      state: ['a', 'b', 'c'],
      subjects: ['c-1', 'c-2'],
    });
    // A load from the events alone finds the same subjects.
    await snapshots.delete('notes-1');
    expect((await h.load('notes-1')).subjects).toEqual(['c-1', 'c-2']);
    // Events read redacted bring no personal data into the state: their subject is not kept.
    await store.append('notes-2', [
      {
        type: 'note.added',
        data: { text: '[redacted]' },
        metadata: { encryption: { v: 1, subject: 'c-3', fields: ['$.text'], redacted: true } },
      },
    ]);
    expect((await h.load('notes-2')).subjects).toEqual([]);
    expect(await h.snapshot('notes-2')).toMatchObject({ subjects: [] });
  });

  it('never serves a snapshot recording a forgotten subject: rebuilds, and deletes its snapshots', async () => {
    const h = make();
    await h.handle('notes-1', note('a', 'c-1'));
    await h.handle('notes-1', note('b'));
    await h.handle('notes-2', note('x', 'c-1'));
    await h.handle('notes-3', note('y', 'c-2'));
    expect(await h.load('notes-1')).toMatchObject({ snapshotRevision: 1, eventsRead: 0 });

    forgotten.add('c-1');
    expect(await h.load('notes-1')).toMatchObject({
      snapshotRevision: -1,
      eventsRead: 2,
      state: ['a', 'b'],
    });
    expect(await snapshots.load('notes-1', 'notes@1')).toBeUndefined();
    expect(await snapshots.load('notes-2', 'notes@1')).toBeUndefined();
    expect(await snapshots.load('notes-3', 'notes@1')).toMatchObject({ subjects: ['c-2'] });
  });

  it('reports a failure to delete the stale snapshots to onError, and still does not serve them', async () => {
    const errors: unknown[] = [];
    const failing = new MemorySnapshotStore();
    failing.deleteBySubject = () => Promise.reject(new Error('store down'));
    const h = new CommandHandler({
      store,
      decider: noteDecider,
      snapshots: {
        store: failing,
        stateVersion: 'notes@1',
        policy: everyNEvents(1),
        forgottenSubjects,
        onError: (error) => errors.push(error),
      },
    });
    await h.handle('notes-1', note('a', 'c-1'));
    forgotten.add('c-1');
    expect(await h.load('notes-1')).toMatchObject({ snapshotRevision: -1, eventsRead: 1 });
    expect(errors).toEqual([new Error('store down')]);
  });

  it('does not save a snapshot holding a subject forgotten while the command ran', async () => {
    const h = make({
      decider: {
        ...noteDecider,
        decide: (command, state) => {
          if (command.data.text === 'meanwhile') forgotten.add('c-1');
          return noteDecider.decide(command, state);
        },
      },
    });
    await h.handle('notes-1', note('a', 'c-1'));
    await h.handle('notes-1', note('meanwhile'));
    expect((await snapshots.load('notes-1', 'notes@1'))?.revision).toBe(0);
  });

  it('uses a snapshot of unknown subjects only when nothing in the store encrypts', async () => {
    await store.append('notes-1', [{ type: 'note.added', data: { text: 'a' } }]);
    await snapshots.save('notes-1', {
      revision: 0,
      stateVersion: 'notes@1',
      state: ['from an old snapshot'],
      takenAt: new Date(),
    });
    expect(await make().load('notes-1')).toMatchObject({ snapshotRevision: -1, state: ['a'] });
    const plain = make({ aware: false });
    expect(await plain.load('notes-1')).toMatchObject({
      snapshotRevision: 0,
      state: ['from an old snapshot'],
      subjects: undefined,
    });
    // A state folded on top of it is of unknown subjects too.
    await plain.handle('notes-1', note('b'));
    const saved = await snapshots.load('notes-1', 'notes@1');
    expect(saved).toMatchObject({ revision: 1 });
    expect(saved?.subjects).toBeUndefined();
  });
});

describe('recorded events reach evolve', () => {
  it('evolve sees the envelope of events read back from the store', async () => {
    const store = new MemoryEventStore();
    const seen: string[] = [];
    const decider: Decider<OrderCommand, OrderEvent, OrderState> = {
      ...orderDecider,
      evolve: (s, e) => {
        seen.push((e as unknown as RecordedEvent).stream);
        return orderDecider.evolve(s, e);
      },
    };
    const h = new CommandHandler({ store, decider });
    await h.handle('order-60', place());
    await h.load('order-60');
    expect(seen).toEqual(['order-60', 'order-60']);
    await store.close();
  });
});
