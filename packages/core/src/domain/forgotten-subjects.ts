import type { RecordedEvent } from '../core/envelope.js';
import type { EventStore } from '../store/event-store.js';
import { ForwardingEventStore } from '../store/forwarding-event-store.js';

/**
 * Tells whether an encryption subject has been forgotten (its data key destroyed). A command
 * handler asks it before serving a snapshot that records the subject, so a snapshot folded
 * from personal data forgotten since, by this process or another, is never used again.
 *
 * `EncryptedEventStore` implements it; the interface lives here so that the domain module
 * imports nothing of `security`.
 *
 * @example
 * ```ts
 * const handler = new CommandHandler({
 *   store: tracedStore, // an encrypted store under a layer that is not a ForwardingEventStore
 *   decider,
 *   snapshots: { store: snapshots, stateVersion: 'customer@1', forgottenSubjects: encrypted },
 * });
 * ```
 */
export interface ForgottenSubjects {
  /** True once `subject` has been forgotten; false while its key lives (or it has none). */
  subjectForgotten(subject: string): Promise<boolean>;
}

/** Whether `value` offers {@link ForgottenSubjects.subjectForgotten}. */
export function isForgottenSubjects(value: unknown): value is ForgottenSubjects {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<ForgottenSubjects>).subjectForgotten === 'function'
  );
}

/**
 * The layer of `store`'s decorator stack that knows forgotten subjects (the encrypting one),
 * found by walking down the decorators (`ForwardingEventStore.inner`); undefined when there
 * is none, i.e. nothing in the stack encrypts.
 */
export function findForgottenSubjects(store: EventStore): ForgottenSubjects | undefined {
  let layer: unknown = store;
  // Bounded: a stack is a handful of layers, and a cycle must not hang a constructor.
  for (let depth = 0; depth < 64 && layer !== undefined; depth++) {
    if (isForgottenSubjects(layer)) return layer;
    layer = layer instanceof ForwardingEventStore ? layer.inner : undefined;
  }
  return undefined;
}

/**
 * The encryption subject whose personal fields `event` carries, read from the
 * `metadata.encryption` an encrypting store writes (`{ v: 1, subject, fields }`); undefined
 * for an event without any. With `revealedOnly`, also undefined when the fields were read
 * redacted (`metadata.encryption.redacted`): such an event brings no personal data into a
 * state folded from it.
 */
export function encryptionSubjectOf(
  event: Pick<RecordedEvent, 'metadata'>,
  revealedOnly: boolean,
): string | undefined {
  const encryption: unknown = event.metadata.encryption;
  if (typeof encryption !== 'object' || encryption === null) return undefined;
  const { subject, redacted } = encryption as { subject?: unknown; redacted?: unknown };
  if (typeof subject !== 'string' || subject === '') return undefined;
  if (revealedOnly && redacted === true) return undefined;
  return subject;
}
