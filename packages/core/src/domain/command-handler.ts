import { systemClock, type Clock } from '../core/clock.js';
import type { EventInput, EventMetadata } from '../core/envelope.js';
import { WrongExpectedRevisionError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { EventStore, ExpectedRevision } from '../store/event-store.js';
import {
  backoffDelay,
  resolveBackoff,
  type BackoffOptions,
  type ResolvedBackoff,
} from '../core/backoff.js';
import {
  eventMetadataFor,
  normaliseCommand,
  type Command,
  type NormalisedCommand,
} from './command.js';
import { evolveStored, initialStateOf, type Decider, type DomainEvent } from './decider.js';
import { InvalidDecisionError, SnapshotsNotConfiguredError } from './domain-errors.js';
import {
  encryptionSubjectOf,
  findForgottenSubjects,
  type ForgottenSubjects,
} from './forgotten-subjects.js';
import { everyNEvents, type SnapshotPolicy } from './snapshot-policy.js';
import { currentTraceContext, withSpan } from '../observability/tracing.js';
import type { Snapshot, SnapshotStore } from './snapshot-store.js';

/** How a command handler uses snapshots. */
export interface SnapshotOptions {
  store: SnapshotStore;
  /**
   * The version key of the state (e.g. `'order@3'`). Change it whenever `evolve` or the
   * state's shape changes: snapshots saved under another key are then ignored.
   */
  stateVersion: string;
  /** When to save snapshots on its own. Default: `everyNEvents(100)`. */
  policy?: SnapshotPolicy;
  /**
   * Called when saving a snapshot after a command fails. The command has succeeded by then
   * (its events are stored), so the error is not thrown; the next load reads more events.
   * Default: ignore it.
   */
  onError?: (error: unknown, stream: string) => void;
  /**
   * Which encryption subjects are forgotten: a snapshot recording one of them is not used
   * (the state is folded from the events, whose personal fields now read redacted) and is
   * deleted from the store. Default: the encrypting layer of `store` (an
   * `EncryptedEventStore` anywhere in its stack of `ForwardingEventStore` decorators), found
   * by itself; none when nothing in the stack encrypts. Give it only when the encrypting
   * layer sits under a decorator of your own that does not extend `ForwardingEventStore`.
   */
  forgottenSubjects?: ForgottenSubjects;
}

/** Options of {@link CommandHandler}. */
export interface CommandHandlerOptions<C extends Command, E extends DomainEvent, S> {
  store: EventStore;
  decider: Decider<C, E, S>;
  /** Snapshots to load from and save to; none by default. */
  snapshots?: SnapshotOptions;
  /** Retries after a concurrent write; see {@link BackoffOptions}. */
  retry?: BackoffOptions;
  /** Source of snapshots' `takenAt`. Default: the system clock. */
  clock?: Clock;
}

/** The state of one stream as a command handler loads it. */
export interface LoadedState<S> {
  state: S;
  /** Revision of the last event folded (or covered by the snapshot), `null` if none. */
  revision: number | null;
  /** Global position of the last event read, when an event was read. */
  position: number | null;
  /** Revision the snapshot used covers, or -1 when no snapshot was used. */
  snapshotRevision: number;
  /** Events read from the store (the tail after the snapshot, or the whole stream). */
  eventsRead: number;
  /**
   * The encryption subjects whose decrypted personal fields `state` may hold: those the
   * snapshot used records, and those of the events read whose fields were decrypted (not
   * redacted). `undefined` when unknown: the snapshot used did not record them.
   */
  subjects: string[] | undefined;
}

/**
 * An event as a command appended it: what was written plus its place in the log. Its
 * `schemaVersion` is the one the decider set, if it set one (a schema-aware store stamps
 * the latest registered version otherwise).
 */
export type AppendedEvent<E extends DomainEvent = DomainEvent> = E extends DomainEvent
  ? {
      id: string;
      type: E['type'];
      stream: string;
      revision: number;
      position: number;
      data: E['data'];
      metadata: EventMetadata;
      schemaVersion?: number;
    }
  : never;

/** What handling a command came to. */
export interface CommandResult<E extends DomainEvent, S> {
  /** The state after the command's events. */
  state: S;
  /** The events appended, in order; empty when the decider decided nothing. */
  events: AppendedEvent<E>[];
  /** The stream's revision afterwards; `null` when it still has no events. */
  revision: number | null;
  /**
   * Global position of the stream's last event afterwards (the last appended one, when
   * events were appended): what a read-your-writes wait waits for. `null` when the stream
   * has no events.
   */
  position: number | null;
  /** Tries it took (1 when no concurrent write got in the way). */
  attempts: number;
}

/**
 * Runs commands against a decider: loads the stream's state (newest valid snapshot plus the
 * events after it), decides, and appends the events with the exact expected revision. When a
 * concurrent write got in first (`WrongExpectedRevisionError`) it waits a jittered,
 * exponentially growing delay and tries again from a fresh load, up to `retry.attempts`
 * tries; a conflict that outlasts them is thrown.
 *
 * The command's metadata flows onto every event; the command's id becomes each event's
 * `causationId`, and `correlationId` defaults to the command's or, failing that, its id.
 * An error thrown by `decide` is thrown back unchanged, with nothing appended.
 *
 * @example
 * ```ts
 * const orders = new CommandHandler({ store, decider: orderDecider });
 * const { state, events, position } = await orders.handle('order-42', {
 *   type: 'order.place',
 *   data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 2, unitPrice: 450 }] },
 *   metadata: { actor: 'alice' },
 * });
 * ```
 */
export class CommandHandler<C extends Command, E extends DomainEvent, S> {
  private readonly store: EventStore;
  private readonly decider: Decider<C, E, S>;
  private readonly snapshots: (SnapshotOptions & { policy: SnapshotPolicy }) | undefined;
  /** Knows forgotten subjects when the store encrypts; only looked for with snapshots. */
  private readonly forgotten: ForgottenSubjects | undefined;
  private readonly retry: ResolvedBackoff;
  private readonly clock: Clock;

  constructor(options: CommandHandlerOptions<C, E, S>) {
    this.store = options.store;
    this.decider = options.decider;
    this.retry = resolveBackoff(options.retry);
    this.clock = options.clock ?? systemClock;
    this.snapshots = options.snapshots && {
      ...options.snapshots,
      policy: options.snapshots.policy ?? everyNEvents(100),
    };
    this.forgotten =
      options.snapshots &&
      (options.snapshots.forgottenSubjects ?? findForgottenSubjects(options.store));
  }

  /**
   * Handles one command against `stream`.
   *
   * @throws {InvalidCommandError} when the command is malformed (nothing is read or written).
   * @throws whatever `decide` throws, unchanged.
   * @throws {WrongExpectedRevisionError} when concurrent writes outlast the retries.
   * @throws {InvalidDecisionError} when `decide` returns something other than an array of
   *   `{ type, data }`.
   */
  async handle(stream: string, command: C): Promise<CommandResult<E, S>> {
    const normalised = normaliseCommand(command);
    // The command's span is a child of the trace the command carries (e.g. a saga's step),
    // and the events it appends carry the span's own context on.
    return withSpan(
      'causeway.command.handle',
      {
        attributes: {
          'causeway.command.type': normalised.type,
          'causeway.command.id': normalised.id,
          'causeway.stream': stream,
        },
        parent: normalised.metadata,
      },
      () => this.handleTraced(stream, normalised),
    );
  }

  private async handleTraced(
    stream: string,
    normalised: NormalisedCommand<C>,
  ): Promise<CommandResult<E, S>> {
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.load(stream);
      const decided = await this.decider.decide(normalised, loaded.state);
      checkDecision(normalised.type, decided);
      if (decided.length === 0) {
        return {
          state: loaded.state,
          events: [],
          revision: loaded.revision,
          position: await this.lastPosition(stream, loaded),
          attempts: attempt,
        };
      }
      const inputs: (EventInput & { id: string })[] = decided.map((event) => {
        const input: EventInput & { id: string } = {
          id: event.id ?? newId(),
          type: event.type,
          data: event.data,
          metadata: withTraceparent(eventMetadataFor(normalised, event.metadata), event.metadata),
        };
        if (event.schemaVersion !== undefined) input.schemaVersion = event.schemaVersion;
        return input;
      });
      const expectedRevision: ExpectedRevision = loaded.revision ?? 'no_stream';
      let appended: { revision: number; position: number };
      try {
        appended = await this.store.append(stream, inputs, { expectedRevision });
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && attempt < this.retry.attempts) {
          await this.retry.sleep(backoffDelay(attempt, this.retry));
          continue;
        }
        throw error;
      }
      const first = inputs.length - 1;
      const events = inputs.map((input, i) => {
        const event = {
          ...input,
          stream,
          revision: appended.revision - first + i,
          position: appended.position - first + i,
        };
        return event as AppendedEvent<E>;
      });
      let state = loaded.state;
      // The appended events carry type and data like E, plus the envelope, as read-back events do.
      for (const event of events) state = evolveStored(this.decider, state, event);
      await this.maybeSnapshot(stream, {
        state,
        revision: appended.revision,
        appended: events.length,
        loaded,
      });
      return {
        state,
        events,
        revision: appended.revision,
        position: appended.position,
        attempts: attempt,
      };
    }
  }

  /**
   * Loads the current state of `stream`: the newest snapshot saved under the configured
   * state version key, if it is still valid, then the events after it (or the whole stream).
   *
   * A snapshot is not used when the stream no longer reaches its revision, or when the
   * stream was soft-deleted after it was taken (its history is hidden, so the state must be
   * folded from the visible events only).
   *
   * On a store that encrypts personal data (see {@link SnapshotOptions.forgottenSubjects}),
   * a snapshot is not used either when one of the encryption subjects it records has been
   * forgotten, by this process or another: it may hold that subject's decrypted personal
   * data, so the state is folded from the events instead (their personal fields now read
   * redacted), and the snapshots of that subject are deleted from the store (a failure to
   * delete goes to `onError`). Nor is a snapshot whose subjects are unknown (saved before
   * they were recorded) used on such a store.
   */
  async load(stream: string): Promise<LoadedState<S>> {
    let state = initialStateOf(this.decider);
    let revision: number | null = null;
    let position: number | null = null;
    let snapshotRevision = -1;
    let eventsRead = 0;
    let subjects: Set<string> | undefined = new Set();
    if (this.snapshots) {
      const snapshot = await this.snapshots.store.load<S>(stream, this.snapshots.stateVersion);
      if (
        snapshot &&
        (await this.snapshotApplies(stream, snapshot)) &&
        (await this.snapshotTrusted(stream, snapshot))
      ) {
        state = snapshot.state;
        revision = snapshot.revision;
        snapshotRevision = snapshot.revision;
        subjects = snapshot.subjects && new Set(snapshot.subjects);
      }
    }
    const options = revision === null ? {} : { from: revision + 1 };
    for await (const event of this.store.readStream(stream, options)) {
      state = evolveStored(this.decider, state, event);
      revision = event.revision;
      position = event.position;
      eventsRead++;
      const subject = encryptionSubjectOf(event, true);
      if (subject !== undefined) subjects?.add(subject);
    }
    if (revision === null) {
      // Nothing visible: either a new stream, or one whose events its metadata hides
      // (maxAge, truncateBefore), which an append must still expect by revision.
      const info = await this.store.streamInfo(stream);
      if (info.exists && info.revision !== null) revision = info.revision;
    }
    return {
      state,
      revision,
      position,
      snapshotRevision,
      eventsRead,
      subjects: subjects && [...subjects],
    };
  }

  /**
   * Saves the current state of `stream` as a snapshot, whatever the policy, and returns it;
   * undefined when the stream has no events, or when a subject whose personal data the
   * state holds was forgotten while it was being taken (nothing is saved then).
   *
   * @throws {SnapshotsNotConfiguredError} when the handler has no snapshot store.
   */
  async snapshot(stream: string): Promise<Snapshot<S> | undefined> {
    if (!this.snapshots) throw new SnapshotsNotConfiguredError();
    const loaded = await this.load(stream);
    if (loaded.revision === null) return undefined;
    return this.saveSnapshot(stream, {
      revision: loaded.revision,
      state: loaded.state,
      subjects: loaded.subjects,
    });
  }

  private async snapshotApplies(stream: string, snapshot: Snapshot): Promise<boolean> {
    const info = await this.store.streamInfo(stream);
    if (!info.exists || info.revision === null || info.revision < snapshot.revision) return false;
    const truncateBefore = info.metadata.truncateBefore ?? 0;
    // A soft delete hides revisions below truncateBefore; a snapshot of them must not return.
    return truncateBefore === 0 || truncateBefore <= snapshot.revision;
  }

  /**
   * False when the snapshot may hold the personal data of a subject now forgotten, or of
   * unknown subjects, on a store that encrypts; the forgotten subject's snapshots are then
   * deleted, so the plaintext does not outlive a forget that did not reach them.
   */
  private async snapshotTrusted(stream: string, snapshot: Snapshot): Promise<boolean> {
    const forgotten = this.forgotten;
    if (!forgotten) return true;
    if (snapshot.subjects === undefined) return false;
    for (const subject of snapshot.subjects) {
      if (!(await forgotten.subjectForgotten(subject))) continue;
      try {
        await this.snapshots?.store.deleteBySubject(subject);
      } catch (error) {
        this.snapshots?.onError?.(error, stream);
      }
      return false;
    }
    return true;
  }

  private async maybeSnapshot(
    stream: string,
    after: { state: S; revision: number; appended: number; loaded: LoadedState<S> },
  ): Promise<void> {
    const snapshots = this.snapshots;
    const { state, revision, appended, loaded } = after;
    const decision = { stream, revision, snapshotRevision: loaded.snapshotRevision, appended };
    if (!snapshots?.policy.shouldSnapshot(decision)) return;
    try {
      const subjects = await this.subjectsWithAppended(stream, loaded.subjects, after);
      await this.saveSnapshot(stream, { revision, state, subjects });
    } catch (error) {
      snapshots.onError?.(error, stream);
    }
  }

  /**
   * The subjects of a state after a command: the loaded state's and those of the events
   * appended, which were folded as the decider returned them, in plaintext. Only the store
   * knows which of them it encrypted for whom, so on an encrypting store they are read back
   * (one short read, only when a snapshot is saved); a redacted read still names a subject.
   */
  private async subjectsWithAppended(
    stream: string,
    loaded: string[] | undefined,
    appended: { revision: number; appended: number },
  ): Promise<string[] | undefined> {
    if (loaded === undefined || !this.forgotten) return loaded;
    const subjects = new Set(loaded);
    const from = appended.revision - appended.appended + 1;
    for await (const event of this.store.readStream(stream, { from, limit: appended.appended })) {
      const subject = encryptionSubjectOf(event, false);
      if (subject !== undefined) subjects.add(subject);
    }
    return [...subjects];
  }

  /**
   * Saves a snapshot with its subjects, unless one of them was forgotten meanwhile (a
   * command in flight decrypted it before): returns what was saved, or undefined.
   */
  private async saveSnapshot(
    stream: string,
    taken: { revision: number; state: S; subjects: string[] | undefined },
  ): Promise<Snapshot<S> | undefined> {
    const snapshots = this.snapshots;
    if (!snapshots) throw new SnapshotsNotConfiguredError();
    const forgotten = this.forgotten;
    if (forgotten && taken.subjects) {
      for (const subject of taken.subjects)
        if (await forgotten.subjectForgotten(subject)) return undefined;
    }
    const snapshot: Snapshot<S> = {
      revision: taken.revision,
      stateVersion: snapshots.stateVersion,
      state: taken.state,
      takenAt: new Date(this.clock.now()),
    };
    if (taken.subjects) snapshot.subjects = taken.subjects;
    await snapshots.store.save(stream, snapshot);
    return snapshot;
  }

  /** Position of the stream's last event when the load did not read it (snapshot covered it). */
  private async lastPosition(stream: string, loaded: LoadedState<S>): Promise<number | null> {
    if (loaded.position !== null || loaded.revision === null) return loaded.position;
    for await (const event of this.store.readStream(stream, { direction: 'backward', limit: 1 })) {
      return event.position;
    }
    return null;
  }
}

/**
 * Handles one command with a handler made for the call. Prefer a long-lived
 * {@link CommandHandler} when handling many.
 *
 * @example
 * ```ts
 * const result = await handleCommand({ store, decider: orderDecider }, 'order-42', command);
 * ```
 */
export function handleCommand<C extends Command, E extends DomainEvent, S>(
  options: CommandHandlerOptions<C, E, S>,
  stream: string,
  command: C,
): Promise<CommandResult<E, S>> {
  return new CommandHandler(options).handle(stream, command);
}

function checkDecision(
  commandType: string,
  decided: unknown,
): asserts decided is readonly DomainEvent[] {
  if (!Array.isArray(decided)) {
    throw new InvalidDecisionError(commandType, 'decide must return an array of events');
  }
  (decided as unknown[]).forEach((event, index) => {
    if (typeof event !== 'object' || event === null) {
      throw new InvalidDecisionError(commandType, `event ${index} is not an object { type, data }`);
    }
    const { type } = event as { type?: unknown };
    if (typeof type !== 'string' || type.length === 0) {
      throw new InvalidDecisionError(commandType, `event ${index} has no type`);
    }
    if (!('data' in event)) {
      throw new InvalidDecisionError(
        commandType,
        `event ${index} (${type}) has no data (use null for none)`,
      );
    }
  });
}

/**
 * The metadata with the active span's `traceparent` (the command's span), replacing one the
 * command carried: the events were written by this span, so what they cause hangs under it.
 * An event the decider stamped with its own trace context keeps it.
 */
function withTraceparent(metadata: EventMetadata, own: EventMetadata | undefined): EventMetadata {
  if (own?.traceparent !== undefined) return metadata;
  // traceparent, tracestate and baggage of the command's span, replacing the command's own.
  const trace = currentTraceContext();
  return Object.keys(trace).length === 0 ? metadata : { ...metadata, ...trace };
}
