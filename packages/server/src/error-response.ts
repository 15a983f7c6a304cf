import {
  CausewayError,
  ErrorCode,
  SchemaErrorCode,
  ProjectionErrorCode,
  SubscriptionErrorCode,
  securityErrorStatus,
  ScavengeErrorCode,
} from '@causewayjs/core';
import { HttpError, ServerErrorCode } from './server-errors.js';

/** Media type of every error response (RFC 9457). */
export const PROBLEM_JSON = 'application/problem+json';

/**
 * The body of every error response: an RFC 9457 problem details object. `type`, `title`,
 * `status`, `detail` and `instance` are the RFC's members; `code` (the stable Causeway error
 * code, the one to branch on) and `details` (the error's data, or null) are extension members.
 *
 * @example
 * ```json
 * {
 *   "type": "urn:causeway:problem:wrong-expected-revision",
 *   "title": "Wrong expected revision",
 *   "status": 409,
 *   "detail": "Expected revision 3 of order-42, found 4",
 *   "instance": "/streams/order-42",
 *   "code": "WRONG_EXPECTED_REVISION",
 *   "details": { "stream": "order-42", "expected": 3, "actual": 4 }
 * }
 * ```
 */
export interface ProblemDetails {
  /** `urn:causeway:problem:<code in kebab case>`: one URI per code. */
  type: string;
  /** A short summary of the problem type (the same for every occurrence of the code). */
  title: string;
  /** The HTTP status, repeated in the body. */
  status: number;
  /** What went wrong this time, for a person. */
  detail: string;
  /** The request path the problem occurred on, when known. */
  instance?: string;
  /** The stable Causeway error code. */
  code: string;
  /** The error's data (stream, expected, actual, failures...), or null. */
  details: unknown;
}

/** The body of every error response (see {@link ProblemDetails}). */
export type ErrorBody = ProblemDetails;

/** Options of {@link errorResponse}. */
export interface ErrorResponseOptions {
  /** The `instance` member: the path of the request that failed (its query is left out). */
  instance?: string | undefined;
}

/** An error as the server answers it. */
export interface ErrorResponse {
  status: number;
  body: ProblemDetails;
  /** True when the failure is the server's own (500): log it with its stack. */
  internal: boolean;
}

/** HTTP status of each code of the errors the server passes on from the library. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  [ErrorCode.WRONG_EXPECTED_REVISION]: 409,
  [ErrorCode.STREAM_DELETED]: 410,
  [ErrorCode.STREAM_NOT_FOUND]: 404,
  [ErrorCode.INVALID_STREAM_NAME]: 400,
  [ErrorCode.INVALID_EVENT]: 400,
  [ErrorCode.EMPTY_APPEND]: 400,
  [ErrorCode.NOT_JSON]: 400,
  [ErrorCode.EVENT_TOO_LARGE]: 413,
  [ErrorCode.DUPLICATE_EVENT_ID]: 409,
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.STORE_CLOSED]: 503,
  [ErrorCode.STORE_UNAVAILABLE]: 503,
  [ErrorCode.STORE_BUSY]: 503,
  // A full disk is the operator's to fix; the client may retry later, so it keeps its code.
  [ErrorCode.STORAGE_FULL]: 503,
  [ErrorCode.WRITE_REJECTED]: 422,
  [ErrorCode.EVENT_DECODE_FAILED]: 500,
  [ErrorCode.SCHEMA_TOO_NEW]: 503,
  [SchemaErrorCode.SCHEMA_VALIDATION_FAILED]: 422,
  [SchemaErrorCode.UNREGISTERED_EVENT_TYPE]: 422,
  [SchemaErrorCode.UNKNOWN_SCHEMA_VERSION]: 422,
  [SchemaErrorCode.INCOMPATIBLE_SCHEMA]: 422,
  [SchemaErrorCode.INVALID_SCHEMA]: 422,
  [SchemaErrorCode.SCHEMA_CONFLICT]: 409,
  [SchemaErrorCode.UPCASTER_MISSING]: 500,
  [SchemaErrorCode.UPCAST_FAILED]: 500,
  [ProjectionErrorCode.UNKNOWN_PROJECTION]: 404,
  [ProjectionErrorCode.PROJECTION_NOT_READY]: 503,
  [ProjectionErrorCode.PROJECTION_STOPPED]: 503,
  [SubscriptionErrorCode.PARKED_EVENT_MISSING]: 404,
  [ScavengeErrorCode.SCAVENGE_RUNNING]: 409,
  ...securityErrorStatus,
};

/** Fastify's own errors (parsing, limits, validation), as the server names them. */
const FASTIFY_ERRORS: Readonly<Record<string, { status: number; code: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: ServerErrorCode.BODY_TOO_LARGE },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: ServerErrorCode.UNSUPPORTED_MEDIA_TYPE },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: ServerErrorCode.INVALID_REQUEST },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: ServerErrorCode.MALFORMED_JSON },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: ServerErrorCode.MALFORMED_JSON },
  FST_ERR_VALIDATION: { status: 400, code: ServerErrorCode.INVALID_REQUEST },
};

/**
 * Turns anything thrown while handling a request into the status and problem details
 * ({@link ProblemDetails}) to answer. Causeway errors keep their code and message; anything
 * unexpected becomes a bare 500 (its message and stack stay in the log).
 */
export function errorResponse(error: unknown, options: ErrorResponseOptions = {}): ErrorResponse {
  const response = classify(error);
  const instance = instanceOf(options.instance);
  if (instance !== undefined) response.body.instance = instance;
  return response;
}

function classify(error: unknown): ErrorResponse {
  if (error instanceof HttpError) {
    return respond(error.status, error.code, error.message, error.details ?? null);
  }
  if (error instanceof CausewayError) {
    const status = STATUS_BY_CODE[error.code] ?? 400;
    if (status >= 500 && status !== 503) {
      return {
        ...respond(500, ServerErrorCode.INTERNAL, 'Internal server error', null),
        internal: true,
      };
    }
    return respond(status, error.code, error.message, causewayDetails(error));
  }
  const fastifyError = error as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
    validation?: unknown;
  };
  if (typeof fastifyError?.code === 'string') {
    const known = FASTIFY_ERRORS[fastifyError.code];
    if (known) {
      const message =
        fastifyError.code === 'FST_ERR_VALIDATION'
          ? `Invalid request: ${String(fastifyError.message)}`
          : String(fastifyError.message);
      return respond(
        known.status,
        known.code,
        message,
        fastifyError.code === 'FST_ERR_VALIDATION' ? { validation: fastifyError.validation } : null,
      );
    }
  }
  if (error instanceof SyntaxError) {
    return respond(400, ServerErrorCode.MALFORMED_JSON, 'The body is not valid JSON', null);
  }
  // A client error fastify raised that is not in the table (a bad URL, say): keep its status.
  const status = typeof fastifyError?.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 400 && status < 500) {
    return respond(status, ServerErrorCode.INVALID_REQUEST, String(fastifyError.message), null);
  }
  return {
    ...respond(500, ServerErrorCode.INTERNAL, 'Internal server error', null),
    internal: true,
  };
}

function respond(status: number, code: string, message: string, details: unknown): ErrorResponse {
  return {
    status,
    body: problemDetails({ status, code, detail: message, details }),
    internal: false,
  };
}

/**
 * A problem details body for `code`: its `type` URI and `title` are derived from the code,
 * so every occurrence of a code has the same ones.
 */
export function problemDetails(problem: {
  status: number;
  code: string;
  detail: string;
  details?: unknown;
  instance?: string | undefined;
}): ProblemDetails {
  const words = problem.code.toLowerCase().split('_').filter(Boolean);
  const title = words.join(' ');
  return {
    type: `urn:causeway:problem:${words.join('-')}`,
    title: title.charAt(0).toUpperCase() + title.slice(1),
    status: problem.status,
    detail: problem.detail,
    ...(problem.instance !== undefined ? { instance: problem.instance } : {}),
    code: problem.code,
    details: problem.details ?? null,
  };
}

/** The path of a request URL, without its query, at most 1,000 characters. */
function instanceOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  return url.split('?')[0]!.slice(0, 1000);
}

/** The data fields of a Causeway error (stream, expected, actual, failures...), without stack or cause. */
function causewayDetails(error: CausewayError): unknown {
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'code' || key === 'name' || key === 'cause' || key === 'stack') continue;
    if (value instanceof Date) details[key] = value.toISOString();
    else if (value instanceof Error) continue;
    else if (typeof value !== 'function' && typeof value !== 'symbol' && typeof value !== 'bigint')
      details[key] = value;
  }
  return Object.keys(details).length === 0 ? null : details;
}
