import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of the federation module (bridges and translations). A code never
 * changes meaning once published.
 */
export const FederationErrorCode = {
  TRANSLATION_FAILED: 'TRANSLATION_FAILED',
  INVALID_TRANSLATION: 'INVALID_TRANSLATION',
} as const;

/** One of the values of {@link FederationErrorCode}. */
export type FederationErrorCode = (typeof FederationErrorCode)[keyof typeof FederationErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    federation: FederationErrorCode;
  }
}

/**
 * A translation threw, or returned something that is not a list of events, for one source
 * event. A bridge parks the event with this error (it is deterministic: retrying the same
 * translation on the same event cannot cure it); fix the translation, then retry the parked
 * event.
 */
export class TranslationFailedError extends CausewayError {
  constructor(
    /** The source event's id. */
    readonly eventId: string,
    /** The source event's position in its store. */
    readonly position: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      FederationErrorCode.TRANSLATION_FAILED,
      `Translation of event ${eventId} (position ${position}) failed: ${reason}`,
      options,
    );
  }
}

/** A declarative translation (a context map, a field mapping) is malformed. */
export class InvalidTranslationError extends CausewayError {
  constructor(
    /** Where in the definition: `'order.placed'.fields.total`, say. */
    readonly at: string,
    readonly reason: string,
  ) {
    super(FederationErrorCode.INVALID_TRANSLATION, `Invalid translation at ${at}: ${reason}`);
  }
}
