import type { RecordedEvent } from '../core/envelope.js';
import { CausewayError, ErrorCode, InvalidArgumentError } from '../core/errors.js';
import type { PublishReceipt } from '../bus/message-bus.js';
import type { OutboxTarget } from '../bus/outbox-relay.js';
import type { AppendRequest, EventStore } from '../store/event-store.js';
import { bridgeAppends, originOf } from './bridge-appends.js';
import { TranslationFailedError } from './federation-errors.js';
import type { Translation } from './translation.js';

/** What a bridge writes to: an event store of any adapter (decorated or not). */
export type BridgeTarget = Pick<EventStore, 'appendMany'>;

/** Options of {@link storeTarget}. */
export interface StoreTargetOptions {
  target: BridgeTarget;
  translation: Translation;
  /** Names the source in the target events' ids (see `bridgedEventId`). */
  sourceId: string;
  /** Events whose first origin is this system are not carried (see `StoreBridge`'s `targetId`). */
  targetId?: string;
  /** Record `metadata.origin` (default true). */
  origin?: boolean;
  /** Told what each source event became, once it is in the target (or left out). */
  onCarried?: (
    event: RecordedEvent,
    requests: readonly AppendRequest[] | 'skipped' | 'untranslatable',
  ) => void;
}

/**
 * An outbox target that appends each event, translated, to another store: what an
 * `OutboxRelay` publishes to when it is a store bridge. Each source event's outputs go in one
 * `appendMany` (one append per target stream, `expectedRevision: 'any'`, derived ids), so a
 * second append of the same source event is the target's idempotent retry. A failed
 * translation, and an event the target refuses for good (its schemas, its size, a deleted
 * stream), are refused for good: the relay parks them. Anything else (the target is
 * unreachable) the relay waits out and retries, in order.
 */
export function storeTarget(options: StoreTargetOptions): OutboxTarget {
  if (typeof options?.target?.appendMany !== 'function')
    throw new InvalidArgumentError('target', 'must be an event store');
  const { target, translation, sourceId, targetId } = options;
  return {
    async publish(event: RecordedEvent): Promise<PublishReceipt> {
      if (targetId !== undefined && originOf(event)?.system === targetId) {
        options.onCarried?.(event, 'skipped');
        return { subject: event.stream, sequence: 0, duplicate: false };
      }
      let requests: AppendRequest[];
      try {
        requests = await bridgeAppends(event, {
          sourceId,
          translation,
          ...(options.origin === undefined ? {} : { origin: options.origin }),
        });
      } catch (error) {
        if (error instanceof TranslationFailedError) options.onCarried?.(event, 'untranslatable');
        throw error;
      }
      const results = requests.length === 0 ? [] : await target.appendMany(requests);
      options.onCarried?.(event, requests);
      const last = results[results.length - 1];
      return {
        subject: last?.stream ?? event.stream,
        sequence: last?.position ?? 0,
        duplicate: false,
      };
    },
    refusedForGood: refusedByTarget,
  };
}

/**
 * Failures no retry can cure: the translation failed, or the event itself is wrong for the
 * target (its schemas refuse it, it is too large, a deleted stream). Known by code, so the
 * bridge needs no import of the schema module.
 */
export function refusedByTarget(error: unknown): boolean {
  if (error instanceof TranslationFailedError) return true;
  if (!(error instanceof CausewayError)) return false;
  const codes: readonly string[] = [
    'SCHEMA_VALIDATION_FAILED',
    'UNREGISTERED_EVENT_TYPE',
    'UNKNOWN_SCHEMA_VERSION',
    ErrorCode.INVALID_EVENT,
    ErrorCode.EVENT_TOO_LARGE,
    ErrorCode.NOT_JSON,
    ErrorCode.STREAM_DELETED,
    ErrorCode.INVALID_STREAM_NAME,
    ErrorCode.DUPLICATE_EVENT_ID,
    ErrorCode.WRITE_REJECTED,
  ];
  return codes.includes(error.code);
}
