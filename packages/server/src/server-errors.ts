import { CausewayError, type CausewayErrorCode } from '@causewayjs/core';

/**
 * Stable error codes of the HTTP server (besides the codes of the errors it passes on from the
 * store, the schema registry, projections and the guard). Like the core's `ErrorCode`, a code
 * never changes meaning once published.
 */
export const ServerErrorCode = {
  /** No route matches the method and path. */
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  /** The request failed its route's schema (query, params, body, headers). */
  INVALID_REQUEST: 'INVALID_REQUEST',
  /** The body is not valid JSON. */
  MALFORMED_JSON: 'MALFORMED_JSON',
  /** The body is not valid UTF-8 (refused before parsing, never stored with U+FFFD). */
  INVALID_ENCODING: 'INVALID_ENCODING',
  /** An event sets a metadata key only the store's layers write (`encryption`, `integrity`). */
  RESERVED_METADATA: 'RESERVED_METADATA',
  /** The body is over the server's limit. */
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  /** The route does not accept the body's content type. */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** The server is not ready (starting, stopping, or its readiness check failed). */
  NOT_READY: 'NOT_READY',
  /** The route needs a caller and the request carried no credentials. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The caller may not do this. */
  FORBIDDEN: 'FORBIDDEN',
  /** Something the server was asked for does not exist (an event, a saga instance...). */
  NOT_FOUND: 'NOT_FOUND',
  /** The server was started without the component a route needs (projector, sagas...). */
  NOT_CONFIGURED: 'NOT_CONFIGURED',
  /** A CloudEvent lacks a required attribute or has an invalid one. */
  INVALID_CLOUDEVENT: 'INVALID_CLOUDEVENT',
  /** `listen` was asked for a non-loopback address with no access control configured. */
  INSECURE_LISTEN: 'INSECURE_LISTEN',
  /** An unexpected failure; details are in the server's log, never in the response. */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the values of {@link ServerErrorCode}. */
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '@causewayjs/core' {
  interface CausewayErrorCodes {
    server: ServerErrorCode;
  }
}

/**
 * An error the server answers with a given HTTP status. `details` is sent to the client as
 * is, so it must hold nothing secret.
 */
export class HttpError extends CausewayError {
  constructor(
    readonly status: number,
    code: CausewayErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(code, message);
  }
}

/** Something asked for does not exist: 404. */
export class NotFoundError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(404, ServerErrorCode.NOT_FOUND, message, details);
  }
}

/** The server has no component for this route: 404 with `NOT_CONFIGURED`. */
export class NotConfiguredError extends HttpError {
  constructor(readonly component: string) {
    super(404, ServerErrorCode.NOT_CONFIGURED, `This server was started without ${component}`, {
      component,
    });
  }
}

/** Bad input the route's schema could not express: 400 with `INVALID_REQUEST`. */
export class InvalidRequestError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(400, ServerErrorCode.INVALID_REQUEST, message, details);
  }
}

/** A CloudEvent the server cannot accept: 400 with `INVALID_CLOUDEVENT`. */
export class InvalidCloudEventError extends HttpError {
  constructor(
    message: string,
    /** Index of the event in a batch (0 for a single event). */
    readonly index: number,
    details?: Record<string, unknown>,
  ) {
    super(400, ServerErrorCode.INVALID_CLOUDEVENT, message, { index, ...details });
  }
}

/** A body that is not valid UTF-8: 400 with `INVALID_ENCODING`. */
export class InvalidEncodingError extends HttpError {
  constructor(readonly contentType: string) {
    super(
      400,
      ServerErrorCode.INVALID_ENCODING,
      `The body is not valid UTF-8 (content type ${contentType})`,
      { contentType },
    );
  }
}

/**
 * An event of the request sets a metadata key that only the store's layers write (see
 * `RESERVED_METADATA_KEYS`): 400 with `RESERVED_METADATA`, nothing written.
 */
export class ReservedMetadataError extends HttpError {
  constructor(
    readonly key: string,
    /** Index of the event in the request. */
    readonly index: number,
  ) {
    super(
      400,
      ServerErrorCode.RESERVED_METADATA,
      `Event ${index} sets metadata.${key}, which only the store writes`,
      { key, index },
    );
  }
}

/** The server is not ready: 503. */
export class NotReadyError extends HttpError {
  constructor(reason: string) {
    super(503, ServerErrorCode.NOT_READY, `The server is not ready: ${reason}`);
  }
}

/** Refused by the access guard: 401 without a caller, 403 with one. */
export class AccessDeniedError extends HttpError {
  constructor(
    readonly permission: string,
    readonly resource: string,
    authenticated: boolean,
  ) {
    super(
      authenticated ? 403 : 401,
      authenticated ? ServerErrorCode.FORBIDDEN : ServerErrorCode.UNAUTHENTICATED,
      authenticated
        ? `Not allowed to ${permission} ${describeResource(resource)}`
        : `Credentials are needed to ${permission} ${describeResource(resource)}`,
      { permission, resource },
    );
  }
}

/** `listen` refused a non-loopback host with open access. */
export class InsecureListenError extends CausewayError {
  constructor(readonly host: string) {
    super(
      ServerErrorCode.INSECURE_LISTEN,
      `Refusing to listen on ${host} with no access control: anyone who can reach it could read and write every stream. Configure a guard (API keys, JWTs), listen on 127.0.0.1, or pass allowInsecure: true`,
    );
  }
}

function describeResource(resource: string): string {
  return resource.startsWith('$') ? resource : `stream "${resource}"`;
}
