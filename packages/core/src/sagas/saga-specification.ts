import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import { ManualClock } from '../core/clock.js';
import type { EventMetadata, RecordedEvent } from '../core/envelope.js';
import { encodeJson } from '../core/json-codec.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import { deterministicId } from './deterministic-id.js';
import { MemorySagaStore } from './memory-saga-store.js';
import type { SagaDefinition } from './saga-definition.js';
import { SagaEngine } from './saga-engine.js';
import type { SagaInstanceView, SagaStatus } from './saga-view.js';

/** A failed saga specification step: an `AssertionError`, so test runners show a diff. */
export class SagaSpecificationError extends AssertionError {
  constructor(header: string, actual: unknown, expected: unknown) {
    const diff = new AssertionError({ actual, expected, operator: 'deepStrictEqual' }).message;
    super({ message: `${header}\n${diff}`, actual, expected, operator: 'deepStrictEqual' });
  }
}

/** An event handed to a saga in a specification; the envelope fields default. */
export interface SpecEvent {
  type: string;
  data: unknown;
  /** Default `'spec-stream'`. */
  stream?: string;
  id?: string;
  metadata?: EventMetadata;
}

/** What happens in the "when" step: an event, a timer firing, or a command's rejection. */
export type SagaStimulus =
  | SpecEvent
  | { timer: string }
  | { rejected: { command: string; code?: string; message?: string } };

/** A command as the specification compares it: type and data. */
export interface SentCommand {
  type: string;
  data: unknown;
}

/** What the "when" step must have led to; only the keys given are checked. */
export interface SagaExpectation<S> {
  status?: SagaStatus;
  step?: string;
  state?: S;
  /** Forward commands recorded by the "when" step, in order. */
  sent?: SentCommand[];
  /** Compensating commands recorded by the "when" step, in order. */
  compensations?: SentCommand[];
  /** Timers set by the "when" step: type and due time (ms since the epoch). */
  scheduled?: { type: string; at: number }[];
  /** Types of the timers cancelled by the "when" step. */
  cancelled?: string[];
  /** The outcome recorded for the stimulus when it had no effect: `'ignored'` or `'duplicate'`. */
  outcome?: 'ignored' | 'duplicate';
}

/** The "then" step of a saga specification. */
export interface SagaThen<S> {
  /** Checks what the stimulus led to. */
  then(expected: SagaExpectation<S>): Promise<void>;
  /** Expects the stimulus to throw (nothing written). */
  thenThrows(check: (error: unknown) => boolean): Promise<void>;
  /** The instance after the stimulus, for checks of your own. */
  instance(): Promise<SagaInstanceView | undefined>;
}

/** The "when" step of a saga specification. */
export interface SagaWhen<S> {
  when(stimulus: SagaStimulus): SagaThen<S>;
}

/**
 * Given/when/then tests for a saga, without a database: given these events (delivered in
 * order to the saga), when this event arrives (or this timer fires, or this command is
 * rejected), then the instance is in this status and step, and these commands, compensations
 * and timers were recorded. Runs the real saga engine on in-memory stores, with a
 * `ManualClock` at `now`.
 *
 * @example
 * ```ts
 * const given = sagaSpecification(fulfilmentSaga);
 * await given([placed, reserved])
 *   .when({ type: 'payment.declined', data: { orderId: 'o1', amount: 900, reason: 'card declined' } })
 *   .then({ status: 'compensating', compensations: [release, cancel] });
 * ```
 */
export function sagaSpecification<S>(
  saga: SagaDefinition<S>,
  options: { now?: number } = {},
): (given?: readonly SagaStimulus[]) => SagaWhen<S> {
  const definition = saga as SagaDefinition<unknown>;
  return (given = []) => ({
    when(stimulus) {
      const run = prepare(
        definition,
        options.now ?? Date.parse('2026-01-01T00:00:00Z'),
        given,
        stimulus,
      );
      const label = `given ${given.length} stimulus(es), when ${describe(stimulus)}`;
      return {
        async then(expected) {
          const r = await run();
          if (!r.ok)
            throw new SagaSpecificationError(
              `${label}: the saga threw`,
              describeError(r.error),
              'no error',
            );
          const actual: Record<string, unknown> = {};
          const want: Record<string, unknown> = {};
          const view = r.instance;
          for (const key of Object.keys(expected) as (keyof SagaExpectation<S>)[]) {
            want[key] = asJson(expected[key]);
            switch (key) {
              case 'status':
                actual[key] = view?.status;
                break;
              case 'step':
                actual[key] = view?.step;
                break;
              case 'state':
                actual[key] = asJson(view?.state);
                break;
              case 'sent':
                actual[key] = asJson(
                  r.sent.filter((c) => !c.compensation).map(({ type, data }) => ({ type, data })),
                );
                break;
              case 'compensations':
                actual[key] = asJson(
                  r.sent.filter((c) => c.compensation).map(({ type, data }) => ({ type, data })),
                );
                break;
              case 'scheduled':
                actual[key] = r.scheduled;
                break;
              case 'cancelled':
                actual[key] = r.cancelled;
                break;
              case 'outcome':
                actual[key] = r.outcome;
                break;
            }
          }
          if (!isDeepStrictEqual(actual, want))
            throw new SagaSpecificationError(`${label}: the outcome differs`, actual, want);
        },
        async thenThrows(check) {
          const r = await run();
          if (r.ok)
            throw new SagaSpecificationError(`${label}: expected an error`, 'no error', 'an error');
          if (!check(r.error))
            throw new SagaSpecificationError(
              `${label}: the error did not pass the check`,
              describeError(r.error),
              'an error passing the check',
            );
        },
        async instance() {
          const r = await run();
          if (!r.ok) throw r.error;
          return r.instance;
        },
      };
    },
  });
}

type Result =
  | {
      ok: true;
      instance: SagaInstanceView | undefined;
      sent: { type: string; data: unknown; compensation: boolean }[];
      scheduled: { type: string; at: number }[];
      cancelled: string[];
      outcome: string | undefined;
    }
  | { ok: false; error: unknown };

function prepare(
  saga: SagaDefinition<unknown>,
  now: number,
  given: readonly SagaStimulus[],
  stimulus: SagaStimulus,
): () => Promise<Result> {
  let result: Promise<Result> | undefined;
  return () => (result ??= execute(saga, now, given, stimulus));
}

async function execute(
  saga: SagaDefinition<unknown>,
  now: number,
  given: readonly SagaStimulus[],
  stimulus: SagaStimulus,
): Promise<Result> {
  const clock = new ManualClock(now);
  const store = new MemoryEventStore({ clock });
  const sagaStore = new MemorySagaStore();
  const engine = new SagaEngine(sagaStore, [saga], clock);
  let position = 0;
  /** Log positions of the events given an id, by id. */
  const positions = new Map<string, number>();
  let instanceId: string | undefined;
  const apply = async (s: SagaStimulus) => {
    if ('timer' in s) {
      if (instanceId === undefined) throw new Error(`no instance to fire ${s.timer} for`);
      const timer = (await sagaStore.timersOf(saga.name, instanceId)).find(
        (t) => t.type === s.timer,
      );
      if (!timer) throw new Error(`instance ${instanceId} has no pending timer ${s.timer}`);
      if (clock.now() < timer.dueAt) clock.set(timer.dueAt);
      await store.transaction((tx) => engine.fireTimer(timer, tx));
      return;
    }
    if ('rejected' in s) {
      const entries = await sagaStore.listCommands({ source: saga.name });
      const entry = entries.filter((e) => e.command.type === s.rejected.command).pop();
      if (!entry) throw new Error(`the saga sent no ${s.rejected.command}`);
      await store.transaction((tx) =>
        engine.commandSettled(
          entry,
          {
            kind: 'rejected',
            reply: {
              status: 'rejected',
              code: s.rejected.code ?? 'REJECTED',
              message: s.rejected.message ?? 'rejected',
            },
          },
          tx,
        ),
      );
      return;
    }
    // An event given again by id is a redelivery: the same event, at the same log position.
    const delivered = s.id === undefined ? undefined : positions.get(s.id);
    const at = delivered ?? ++position;
    const event: RecordedEvent = {
      id: s.id ?? deterministicId('spec', String(at)),
      type: s.type,
      stream: s.stream ?? 'spec-stream',
      revision: at - 1,
      position: at,
      data: s.data,
      metadata: s.metadata ?? {},
      schemaVersion: 1,
      recordedAt: new Date(clock.now()),
    };
    if (s.id !== undefined) positions.set(s.id, at);
    const id = saga.correlate(event);
    if (id !== undefined) instanceId ??= id;
    await store.transaction((tx) => engine.handleEvent(saga, event, tx));
  };
  try {
    for (const s of given) await apply(s);
    const before = (await sagaStore.listCommands({ limit: 1000 })).length;
    const timersBefore = instanceId ? await sagaStore.timersOf(saga.name, instanceId) : [];
    const historyBefore = instanceId
      ? ((await sagaStore.getInstance(saga.name, instanceId))?.history.length ?? 0)
      : 0;
    await apply(stimulus);
    const sent = (await sagaStore.listCommands({ limit: 1000 })).slice(before).map((e) => ({
      type: e.command.type,
      data: e.command.data,
      compensation: e.compensation,
    }));
    const instance = instanceId ? await sagaStore.getInstance(saga.name, instanceId) : undefined;
    const timersAfter = instanceId ? await sagaStore.timersOf(saga.name, instanceId) : [];
    const beforeIds = new Set(timersBefore.map((t) => t.id));
    const fresh = instance?.history.slice(historyBefore) ?? [];
    const first = fresh[0]?.detail as { outcome?: string } | undefined;
    return {
      ok: true,
      instance,
      sent,
      scheduled: timersAfter
        .filter((t) => !beforeIds.has(t.id))
        .map((t) => ({ type: t.type, at: t.dueAt })),
      cancelled: fresh.filter((h) => h.kind === 'timer-cancelled').map((h) => h.type),
      outcome: first?.outcome,
    };
  } catch (error) {
    return { ok: false, error };
  }
}

function asJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(encodeJson(value));
}

function describe(stimulus: SagaStimulus): string {
  if ('timer' in stimulus) return `timer ${stimulus.timer} fires`;
  if ('rejected' in stimulus) return `${stimulus.rejected.command} is rejected`;
  return stimulus.type;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
