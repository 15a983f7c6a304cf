import type { RecordedEvent } from '../core/envelope.js';
import { CausewayError, EventDecodeError } from '../core/errors.js';

/**
 * Stable error codes of the security module. Like the core's `ErrorCode`, a code never
 * changes meaning once published.
 */
export const SecurityErrorCode = {
  /** No credentials, and anonymous access is not allowed. */
  AUTH_MISSING: 'AUTH_MISSING',
  /** A token whose `exp` (or `nbf`) is outside the accepted window. */
  AUTH_EXPIRED: 'AUTH_EXPIRED',
  /** Credentials that are malformed, forged, unknown or signed with the wrong key. */
  AUTH_INVALID: 'AUTH_INVALID',
  /** A token made for another audience. */
  AUTH_WRONG_AUDIENCE: 'AUTH_WRONG_AUDIENCE',
  /** A token from an issuer this server does not trust. */
  AUTH_WRONG_ISSUER: 'AUTH_WRONG_ISSUER',
  /** Credentials headers larger than the guard accepts. */
  AUTH_HEADER_TOO_LARGE: 'AUTH_HEADER_TOO_LARGE',
  /** An authenticated caller without the right for this operation on this stream. */
  FORBIDDEN: 'FORBIDDEN',
  /** A caller bound to a tenant touched another tenant's stream or event. */
  TENANT_FORBIDDEN: 'TENANT_FORBIDDEN',
  /** The security configuration (file or options) is not usable. */
  SECURITY_CONFIG_INVALID: 'SECURITY_CONFIG_INVALID',
  /** The configured master key does not match the key check stored with the data keys. */
  WRONG_MASTER_KEY: 'WRONG_MASTER_KEY',
  /** A data key is wrapped by a master key that is not configured. */
  MASTER_KEY_UNAVAILABLE: 'MASTER_KEY_UNAVAILABLE',
  /** Personal data was appended for a subject that has been forgotten. */
  SUBJECT_FORGOTTEN: 'SUBJECT_FORGOTTEN',
  /** An event marked personal had no subject, or a personal field could not be handled. */
  ENCRYPTION_FAILED: 'ENCRYPTION_FAILED',
  /** Stored ciphertext failed authentication with the subject's key (tampered or wrong key). */
  DECRYPTION_FAILED: 'DECRYPTION_FAILED',
  /** An append to a hash-chained stream kept conflicting with other writers. */
  INTEGRITY_CONFLICT: 'INTEGRITY_CONFLICT',
} as const;

/** One of the values of {@link SecurityErrorCode}. */
export type SecurityErrorCode = (typeof SecurityErrorCode)[keyof typeof SecurityErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    security: SecurityErrorCode;
  }
}

/**
 * The HTTP status the server answers for each security code: 401 when the caller is not (or
 * not validly) identified, 403 when it is but may not do this, 431 for oversized credential
 * headers, 500/503 for server-side misconfiguration. Codes not in this map are not errors a
 * request can cause.
 */
export const securityErrorStatus: Readonly<Record<string, number>> = {
  [SecurityErrorCode.AUTH_MISSING]: 401,
  [SecurityErrorCode.AUTH_EXPIRED]: 401,
  [SecurityErrorCode.AUTH_INVALID]: 401,
  [SecurityErrorCode.AUTH_WRONG_AUDIENCE]: 401,
  [SecurityErrorCode.AUTH_WRONG_ISSUER]: 401,
  [SecurityErrorCode.AUTH_HEADER_TOO_LARGE]: 431,
  [SecurityErrorCode.FORBIDDEN]: 403,
  [SecurityErrorCode.TENANT_FORBIDDEN]: 403,
  [SecurityErrorCode.SUBJECT_FORGOTTEN]: 422,
  [SecurityErrorCode.ENCRYPTION_FAILED]: 422,
  [SecurityErrorCode.INTEGRITY_CONFLICT]: 409,
  [SecurityErrorCode.DECRYPTION_FAILED]: 500,
  [SecurityErrorCode.MASTER_KEY_UNAVAILABLE]: 500,
  [SecurityErrorCode.WRONG_MASTER_KEY]: 500,
  [SecurityErrorCode.SECURITY_CONFIG_INVALID]: 500,
};

/** Authentication failed: the caller is not identified (HTTP 401, or 431 for huge headers). */
export class AuthenticationError extends CausewayError {
  constructor(
    code:
      | typeof SecurityErrorCode.AUTH_MISSING
      | typeof SecurityErrorCode.AUTH_EXPIRED
      | typeof SecurityErrorCode.AUTH_INVALID
      | typeof SecurityErrorCode.AUTH_WRONG_AUDIENCE
      | typeof SecurityErrorCode.AUTH_WRONG_ISSUER
      | typeof SecurityErrorCode.AUTH_HEADER_TOO_LARGE,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** An identified caller may not do `permission` on `stream` (HTTP 403). */
export class ForbiddenError extends CausewayError {
  constructor(
    /** The caller's id, or `undefined` for an anonymous caller. */
    readonly principal: string | undefined,
    readonly permission: string,
    readonly stream: string,
  ) {
    super(
      SecurityErrorCode.FORBIDDEN,
      `${principal === undefined ? 'An anonymous caller' : `Caller "${principal}"`} may not ${permission} stream ${JSON.stringify(stream.slice(0, 200))}`,
    );
  }
}

/** A caller bound to `tenant` touched something of another tenant (HTTP 403). */
export class TenantForbiddenError extends CausewayError {
  constructor(
    readonly tenant: string,
    readonly stream: string,
    reason: string,
  ) {
    super(
      SecurityErrorCode.TENANT_FORBIDDEN,
      `Tenant "${tenant}" may not use stream ${JSON.stringify(stream.slice(0, 200))}: ${reason}`,
    );
  }
}

/** The security configuration is unusable; says where. */
export class SecurityConfigError extends CausewayError {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      SecurityErrorCode.SECURITY_CONFIG_INVALID,
      `Invalid security configuration at ${path}: ${reason}`,
      options,
    );
  }
}

/**
 * The master key given at start-up is not the one the data keys were wrapped with. Raised
 * before anything is written.
 */
export class WrongMasterKeyError extends CausewayError {
  constructor(
    readonly masterKeyId: string,
    reason: string,
  ) {
    super(SecurityErrorCode.WRONG_MASTER_KEY, `Master key "${masterKeyId}" refused: ${reason}`);
  }
}

/** A data key is wrapped with a master key id that is not configured. */
export class MasterKeyUnavailableError extends CausewayError {
  constructor(readonly masterKeyId: string) {
    super(
      SecurityErrorCode.MASTER_KEY_UNAVAILABLE,
      `Master key "${masterKeyId}" is needed to unwrap a data key but is not configured`,
    );
  }
}

/** Personal data was appended for a subject already forgotten. */
export class SubjectForgottenError extends CausewayError {
  constructor(readonly eventIndex: number) {
    // The subject itself is not named: it may be personal.
    super(
      SecurityErrorCode.SUBJECT_FORGOTTEN,
      `Event at index ${eventIndex} carries personal data of a forgotten subject`,
    );
  }
}

/** An event marked personal could not be encrypted (no subject, bad field). */
export class EncryptionError extends CausewayError {
  constructor(
    readonly eventIndex: number,
    reason: string,
  ) {
    super(
      SecurityErrorCode.ENCRYPTION_FAILED,
      `Cannot encrypt event at index ${eventIndex}: ${reason}`,
    );
  }
}

/**
 * A field of a stored event does not decrypt under its subject's data key: its ciphertext was
 * tampered with or copied from another event, or `metadata.encryption` was written around the
 * encrypting store. An {@link EventDecodeError} with its own code: reads throw it at the
 * event's place (reading on from `position + 1` passes over it), and subscriptions park the
 * event with it, as they park any event that cannot be decoded, so one such event never
 * stops a projection for good.
 */
export class DecryptionError extends EventDecodeError {
  constructor(
    event: Pick<RecordedEvent, 'id' | 'stream' | 'type' | 'revision' | 'position'>,
    /** The field that did not decrypt (`$.email`). */
    readonly path: string,
  ) {
    super(
      {
        position: event.position,
        stream: event.stream,
        eventId: event.id,
        type: event.type,
        revision: event.revision,
        column: 'data',
        reason: `field ${path} does not decrypt with its subject's key (tampered, forged or wrong key)`,
      },
      undefined,
      SecurityErrorCode.DECRYPTION_FAILED,
    );
  }
}

/** A hash-chained append lost the race for its stream too many times. */
export class IntegrityConflictError extends CausewayError {
  constructor(
    readonly stream: string,
    readonly attempts: number,
  ) {
    super(
      SecurityErrorCode.INTEGRITY_CONFLICT,
      `Append to "${stream}" conflicted with other writers ${attempts} times; try again`,
    );
  }
}
