import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  type AccessGuard,
  type Permission,
  type Principal,
  type EventStore,
  RESERVED_METADATA_KEYS,
  type EventInput,
  type EventMetadata,
  type RecordedEvent,
  tenantOfStream,
} from '@causewayjs/core';
import {
  type CausewayMetrics,
  SpanKind,
  inSpan,
  tracingActive,
  tenantMetadataMatches,
} from '@causewayjs/core/internals';
import { trace } from '@opentelemetry/api';
import { errorResponse } from './error-response.js';
import {
  AccessDeniedError,
  HttpError,
  ReservedMetadataError,
  ServerErrorCode,
} from './server-errors.js';
import type { ServerOptions } from './server-options.js';

/** Default request body limit: room for a batch of events at the store's 1 MiB event limit. */
export const DEFAULT_ROUTE_BODY_LIMIT = 4 * 1024 * 1024;

/** HTTP methods the API uses. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One documented response of a route. */
export interface RouteResponse {
  description: string;
  /** JSON Schema of the body (of `contentType`, default `application/json`). */
  schema?: object;
  contentType?: string;
}

/**
 * A route of the API: what fastify needs (method, URL, request schemas, handler), plus what
 * the OpenAPI document says of it. Who may call it is decided by `access`:
 * - `'public'`: anyone, without authentication (health and readiness probes, the OpenAPI document);
 * - `'admin'`: callers the guard allows `admin` on {@link ADMIN_RESOURCE};
 * - `'stream'`: the handler checks per stream with {@link RouteContext.authorize}.
 */
export interface RouteSpec {
  method: RouteMethod;
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  access: 'public' | 'admin' | 'stream';
  params?: object;
  querystring?: object;
  headers?: object;
  body?: object;
  /** Media types the body may have (default: `application/json` when there is a body). */
  consumes?: readonly string[];
  responses: Record<number, RouteResponse>;
  /**
   * True when the schemas of the success (2xx) responses list every field the handler
   * returns: fastify then serialises those responses with them (fast-json-stringify, several
   * times faster than `JSON.stringify`), which drops any field a schema does not list. Set it
   * on hot routes with small, fixed results (append).
   */
  exactResponses?: boolean;
  handler(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

/** The resource admin routes (projections, parked events, sagas, schemas, stats, metrics) check. */
export const ADMIN_RESOURCE = '$admin';

/**
 * The error response every route may answer with, for the OpenAPI document: RFC 9457 problem
 * details (`application/problem+json`) with the stable `code` and the error's `details` as
 * extension members.
 */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code', 'details'],
  properties: {
    type: { type: 'string', description: '`urn:causeway:problem:<code>`' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The path of the request' },
    code: { type: 'string', description: 'The stable Causeway error code' },
    details: { description: "The error's data, or null" },
  },
} as const;

/** What route modules share: the store, the options, the guard seam and the route table. */
export class RouteContext {
  /** Every API route registered, in order, for the OpenAPI document. */
  readonly routes: RouteSpec[] = [];
  private readonly principals = new WeakMap<FastifyRequest, Principal | undefined>();

  constructor(
    readonly app: FastifyInstance,
    readonly store: EventStore,
    readonly options: ServerOptions,
    readonly guard: AccessGuard,
    readonly metrics: CausewayMetrics,
    readonly logger: Logger | undefined,
  ) {}

  /** Registers an API route. */
  route(spec: RouteSpec): void {
    this.routes.push(spec);
    const consumes = spec.body ? (spec.consumes ?? ['application/json']) : undefined;
    const schema: Record<string, object> = {};
    if (spec.params) schema.params = spec.params;
    if (spec.querystring) schema.querystring = spec.querystring;
    if (spec.headers) schema.headers = spec.headers;
    // A body of another media type (CloudEvents' binary mode) is checked by its handler.
    if (spec.body && consumes?.every((type) => type.includes('json'))) schema.body = spec.body;
    if (spec.exactResponses) {
      const success = Object.entries(spec.responses).filter(([status]) => /^2/.test(status));
      schema.response = Object.fromEntries(
        success.flatMap(([status, r]) => (r.schema ? [[status, r.schema]] : [])),
      );
    }
    this.app.route({
      method: spec.method,
      url: spec.url,
      schema,
      // Per route, so a host's instance (the plugin) keeps its own limit for its own routes.
      bodyLimit: this.options.bodyLimit ?? DEFAULT_ROUTE_BODY_LIMIT,
      config: { causeway: { access: spec.access } },
      preValidation: consumes
        ? (request, _reply, done) => {
            if (acceptsMediaType(request, consumes)) return done();
            done(
              new HttpError(
                415,
                ServerErrorCode.UNSUPPORTED_MEDIA_TYPE,
                `This route takes ${consumes.join(' or ')}, not ${request.headers['content-type'] ?? 'a body without a content type'}`,
                { accepted: consumes },
              ),
            );
          }
        : undefined,
      handler: (request, reply) =>
        // With no OpenTelemetry SDK registered, no span, no attributes, no header extraction.
        !tracingActive()
          ? this.handle(spec, request, reply)
          : inSpan(
              'causeway.http.request',
              {
                kind: SpanKind.SERVER,
                // Under a host's HTTP instrumentation the request already has a span (made from
                // the same headers): ours is its child. Otherwise the caller's context (and
                // baggage) is extracted from the headers with the propagation API.
                parent: trace.getActiveSpan() ? undefined : request.headers,
                attributes: {
                  'http.request.method': spec.method,
                  'http.route': spec.url,
                  'causeway.request.id': request.id,
                },
              },
              async (span) => {
                try {
                  const result = await this.handle(spec, request, reply);
                  span.setAttribute('http.response.status_code', reply.statusCode);
                  return result;
                } catch (error) {
                  span.setAttribute('http.response.status_code', errorResponse(error).status);
                  throw error;
                }
              },
            ),
    });
  }

  /** Runs a route's handler, after checking an admin route's caller. */
  private async handle(
    spec: RouteSpec,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<unknown> {
    if (spec.access === 'admin') this.authorize(request, 'admin', ADMIN_RESOURCE);
    return spec.handler(request, reply);
  }

  /** Authenticates the request once (the `onRequest` hook calls this). */
  async authenticate(request: FastifyRequest): Promise<void> {
    const principal = await this.guard.authenticate({
      headers: request.headers,
      remoteAddress: request.ip,
    });
    this.principals.set(request, principal);
  }

  /** The authenticated caller of `request` (undefined: anonymous). */
  principal(request: FastifyRequest): Principal | undefined {
    return this.principals.get(request);
  }

  /** May the caller do `permission` on `resource`? */
  can(request: FastifyRequest, permission: Permission, resource: string): boolean {
    return this.guard.can(this.principal(request), permission, resource);
  }

  /**
   * Throws 401/403 unless the caller may do `permission` on `resource`; denials are counted
   * and logged (who, what, which request; never any data).
   */
  authorize(request: FastifyRequest, permission: Permission, resource: string): void {
    if (this.can(request, permission, resource)) return;
    const principal = this.principal(request);
    this.denied(request, permission, principal ? 'forbidden' : 'unauthenticated', resource);
    throw new AccessDeniedError(permission, resource, principal !== undefined);
  }

  /**
   * May the caller see `event`? `read` on its stream (the guard's `canRead` when it has one)
   * and, for a caller bound to a tenant, the event's `metadata.tenant`, when present, must
   * name that tenant too. Every route that shows events decides with this, and shows an event
   * it refuses exactly as it shows a missing one.
   */
  canRead(request: FastifyRequest, event: RecordedEvent): boolean {
    const principal = this.principal(request);
    if (principal?.tenant !== undefined && !tenantMetadataMatches(event, principal.tenant))
      return false;
    return this.guard.canRead
      ? this.guard.canRead(principal, event)
      : this.guard.can(principal, 'read', event.stream);
  }

  /**
   * The events of an append to `stream` as the server stores them:
   * - an event setting a key of {@link RESERVED_METADATA_KEYS} (`encryption`, `integrity`) is
   *   refused with 400 `RESERVED_METADATA`;
   * - `actor` is the authenticated caller's id, whatever the event said (an anonymous
   *   request's events carry none);
   * - a caller bound to a tenant gets its `tenant` stamped on every event; an event naming
   *   another tenant than the caller's (or, for a caller bound to none, than the tenant whose
   *   namespace `stream` is in) is refused with 403 and counted as a denial.
   */
  stamp(
    request: FastifyRequest,
    stream: string,
    events: readonly EventInput[],
  ): readonly EventInput[] {
    const principal = this.principal(request);
    const expectedTenant = principal?.tenant ?? tenantOfStream(stream);
    let stamped: EventInput[] | undefined;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      const given = event.metadata as unknown;
      const fields = typeof given === 'object' && given !== null ? (given as EventMetadata) : {};
      for (const key of RESERVED_METADATA_KEYS)
        if (Object.hasOwn(fields, key)) throw new ReservedMetadataError(key, index);
      if (
        fields.tenant !== undefined &&
        expectedTenant !== undefined &&
        fields.tenant !== expectedTenant
      ) {
        this.denied(request, 'write', 'tenant', stream);
        throw new HttpError(
          403,
          ServerErrorCode.FORBIDDEN,
          principal?.tenant !== undefined
            ? 'An event names a tenant other than the caller’s'
            : 'An event names a tenant other than its stream’s',
          { permission: 'write', resource: '$tenant' },
        );
      }
      // An anonymous caller's event naming no actor is stored as sent: no copy.
      if (
        principal === undefined &&
        (given === undefined || (given === fields && !Object.hasOwn(fields, 'actor')))
      ) {
        stamped?.push(event);
        continue;
      }
      let metadata: EventMetadata;
      if (principal) {
        metadata = { ...fields };
        if (principal.tenant !== undefined) metadata.tenant = principal.tenant;
        metadata.actor = principal.id;
      } else {
        // Rest, not delete: a delete leaves the object slow for everything after it.
        const { actor: _dropped, ...rest } = fields;
        metadata = rest;
      }
      stamped ??= events.slice(0, index);
      stamped.push({ ...event, metadata });
    }
    return stamped ?? events;
  }

  /** Counts and logs one denial. */
  denied(request: FastifyRequest, permission: string, reason: string, resource: string): void {
    this.metrics.accessDenials.inc({ permission, reason });
    request.log.warn(
      { permission, resource, reason, principal: this.principal(request)?.id },
      'access denied',
    );
  }
}

/** True when the request's content type is one of `accepted` (parameters ignored). */
function acceptsMediaType(request: FastifyRequest, accepted: readonly string[]): boolean {
  const raw = request.headers['content-type'];
  // No body at all is the handler's (or the schema's) business, not a media type mismatch.
  if (raw === undefined) return request.body === undefined || request.body === null;
  const type = raw.split(';')[0]!.trim().toLowerCase();
  return accepted.some((a) => a === '*/*' || a === type);
}
