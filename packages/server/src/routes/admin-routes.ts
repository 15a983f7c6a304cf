import {
  type ProjectionStatus,
  type ParkedEvent,
  type ParkedSelection,
  type SagaStatus,
  type OutboxEntry,
  ParkedCommandNotFoundError,
  ParkedCommandNotRetryableError,
  type CompatibilityMode,
  type JsonSchema,
} from '@causewayjs/core';
import { ERROR_SCHEMA, type RouteContext } from '../route-context.js';
import { HttpError, NotConfiguredError, NotFoundError } from '../server-errors.js';
import type { ServerProjector, ServerSubscription } from '../server-options.js';
import { ERROR_DESCRIPTIONS } from './stream-routes.js';

const error = (status: number) => ({
  description: ERROR_DESCRIPTIONS[status] ?? 'Error',
  schema: ERROR_SCHEMA,
});
const ADMIN_ERRORS = { 401: error(401), 403: error(403) };

/** Prefix of the parked-event source names of projections (`projection:<name>`). */
export const PROJECTION_SOURCE_PREFIX = 'projection:';

const NAME_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 300 } },
} as const;

const SELECTION_BODY = {
  type: 'object',
  required: ['positions'],
  additionalProperties: false,
  properties: {
    positions: {
      description: "Positions of the parked events, or 'all'",
      anyOf: [
        { type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'integer', minimum: 1 } },
        { type: 'string', enum: ['all'] },
      ],
    },
  },
} as const;

/** A projection status as JSON (errors reduced to name, code and message). */
export function projectionJson(status: ProjectionStatus): Record<string, unknown> {
  return {
    ...status,
    error: errorJson(status.error),
    rebuild: status.rebuild ? { ...status.rebuild, error: errorJson(status.rebuild.error) } : null,
  };
}

function errorJson(
  error: Error | undefined,
): { name: string; code?: string; message: string } | null {
  if (!error) return null;
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: error.message,
  };
}

/** A parked event as JSON (its error without the stack: stacks stay on the server). */
function parkedJson(parked: ParkedEvent): Record<string, unknown> {
  const { stack: _stack, ...error } = parked.error;
  return { ...parked, error, parkedAt: parked.parkedAt.toISOString() };
}

/** An outbox command as JSON (times as ISO-8601). */
function outboxJson(entry: OutboxEntry): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    ...entry,
    nextAttemptAt: iso(entry.nextAttemptAt),
    createdAt: iso(entry.createdAt),
    settledAt: iso(entry.settledAt),
  };
}

/** The saga command errors with their HTTP status: 404 unknown, 409 not retryable. */
function sagaCommandError(error: unknown): unknown {
  if (error instanceof ParkedCommandNotFoundError)
    return new HttpError(404, error.code, error.message, { commandId: error.commandId });
  if (error instanceof ParkedCommandNotRetryableError)
    return new HttpError(409, error.code, error.message, { commandId: error.commandId });
  return error;
}

/** Where the parked events of `name` live: a subscription, or a projection's builds. */
type ParkedSource =
  | { kind: 'subscription'; subscription: ServerSubscription }
  | { kind: 'projection'; projector: ServerProjector; projection: string };

/** The admin routes: projections, parked events, sagas and the schema registry. */
export function registerAdminRoutes(ctx: RouteContext): void {
  const projectors = ctx.options.projectors ?? [];
  const subscriptions = ctx.options.subscriptions ?? [];

  const projectorOf = (name: string): ServerProjector => {
    if (projectors.length === 0) throw new NotConfiguredError('projections');
    const projector = projectors.find((p) => p.names.includes(name));
    if (!projector)
      throw new NotFoundError(`No projection is named "${name}"`, { projection: name });
    return projector;
  };

  const sourceOf = (name: string): ParkedSource => {
    if (name.startsWith(PROJECTION_SOURCE_PREFIX)) {
      const projection = name.slice(PROJECTION_SOURCE_PREFIX.length);
      return { kind: 'projection', projector: projectorOf(projection), projection };
    }
    const subscription = subscriptions.find((s) => s.name === name);
    if (!subscription)
      throw new NotFoundError(`No subscription is named "${name}"`, { subscription: name });
    return { kind: 'subscription', subscription };
  };

  ctx.route({
    method: 'GET',
    url: '/projections',
    operationId: 'listProjections',
    summary: 'Every projection with its state, position and lag',
    tags: ['projections'],
    access: 'admin',
    responses: {
      200: {
        description: 'Projection statuses',
        schema: {
          type: 'object',
          properties: { projections: { type: 'array', items: { type: 'object' } } },
        },
      },
      ...ADMIN_ERRORS,
    },
    async handler() {
      const statuses = (await Promise.all(projectors.map((p) => p.statuses()))).flat();
      return { projections: statuses.map(projectionJson) };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/projections/:name',
    operationId: 'getProjection',
    summary: "One projection's status",
    tags: ['projections'],
    access: 'admin',
    params: NAME_PARAMS,
    responses: {
      200: { description: 'Projection status', schema: { type: 'object' } },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler(request) {
      const { name } = request.params as { name: string };
      return projectionJson(await projectorOf(name).status(name));
    },
  });

  ctx.route({
    method: 'POST',
    url: '/projections/:name/rebuild',
    operationId: 'rebuildProjection',
    summary: 'Rebuild a projection beside the serving read model',
    description:
      'Starts a new build from position 1; the serving read model answers until the new one has caught up and switches in.',
    tags: ['projections'],
    access: 'admin',
    params: NAME_PARAMS,
    responses: {
      202: {
        description: 'The build started (or the one already in progress)',
        schema: { type: 'object' },
      },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler(request, reply) {
      const { name } = request.params as { name: string };
      const build = await projectorOf(name).rebuild(name);
      request.log.info(
        { projection: name, build: build.build, version: build.version },
        'rebuild started',
      );
      return reply.code(202).send({ projection: name, build });
    },
  });

  ctx.route({
    method: 'GET',
    url: '/parked',
    operationId: 'listParkedSources',
    summary: 'Subscriptions and projections with their parked event counts',
    tags: ['parked'],
    access: 'admin',
    responses: {
      200: {
        description: 'Parked event sources',
        schema: {
          type: 'object',
          properties: {
            sources: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  name: { type: 'string' },
                  kind: { enum: ['subscription', 'projection'] },
                  count: { type: 'integer' },
                },
              },
            },
          },
        },
      },
      ...ADMIN_ERRORS,
    },
    async handler() {
      const fromSubscriptions = await Promise.all(
        subscriptions.map(async (s) => ({
          name: s.name,
          kind: 'subscription',
          count: await s.parkedCount(),
        })),
      );
      const fromProjections = (await Promise.all(projectors.map((p) => p.statuses())))
        .flat()
        .map((status) => ({
          name: `${PROJECTION_SOURCE_PREFIX}${status.name}`,
          kind: 'projection',
          count: status.parked + (status.rebuild?.parked ?? 0),
        }));
      return { sources: [...fromSubscriptions, ...fromProjections] };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/parked/:name',
    operationId: 'listParked',
    summary: 'Parked events of a subscription (or `projection:<name>`)',
    tags: ['parked'],
    access: 'admin',
    params: NAME_PARAMS,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        after: { type: 'integer', minimum: 0 },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      },
    },
    responses: {
      200: { description: 'Parked events, in position order', schema: { type: 'object' } },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler(request) {
      const { name } = request.params as { name: string };
      const query = request.query as { after?: number; limit: number };
      const options = {
        limit: query.limit,
        ...(query.after !== undefined ? { after: query.after } : {}),
      };
      const source = sourceOf(name);
      const parked =
        source.kind === 'subscription'
          ? await source.subscription.listParked(options)
          : await source.projector.listParked(source.projection, options);
      return { name, events: parked.map(parkedJson) };
    },
  });

  for (const action of ['retry', 'skip'] as const) {
    ctx.route({
      method: 'POST',
      url: `/parked/:name/${action}`,
      operationId: `${action}Parked`,
      summary:
        action === 'retry'
          ? 'Hand parked events back to their subscription'
          : 'Drop parked events without handling them',
      tags: ['parked'],
      access: 'admin',
      params: NAME_PARAMS,
      body: SELECTION_BODY,
      responses: {
        200: {
          description:
            action === 'retry' ? 'How many were marked for retry' : 'How many were removed',
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, count: { type: 'integer' } },
          },
        },
        400: error(400),
        ...ADMIN_ERRORS,
        404: error(404),
        415: error(415),
      },
      async handler(request) {
        const { name } = request.params as { name: string };
        const { positions } = request.body as { positions: ParkedSelection };
        const source = sourceOf(name);
        let count: number;
        if (source.kind === 'subscription') {
          count =
            action === 'retry'
              ? await source.subscription.retryParked(positions)
              : await source.subscription.skipParked(positions);
        } else {
          count =
            action === 'retry'
              ? await source.projector.retryParked(source.projection, positions)
              : await source.projector.skipParked(source.projection, positions);
        }
        request.log.info({ source: name, action, count }, 'parked events handled');
        return { name, count };
      },
    });
  }

  ctx.route({
    method: 'GET',
    url: '/sagas',
    operationId: 'listSagas',
    summary: 'Saga instances',
    description:
      'Paged by instance id: pass the `next` of a page as `after`. `total` counts the instances matching `saga` and `status` over every page (null when the saga store cannot count).',
    tags: ['sagas'],
    access: 'admin',
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        saga: { type: 'string' },
        status: {
          type: 'string',
          enum: ['running', 'completed', 'compensating', 'compensated', 'failed'],
        },
        after: { type: 'string' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      },
    },
    responses: {
      200: { description: 'Saga instances', schema: { type: 'object' } },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler(request) {
      const sagas = ctx.options.sagas;
      if (!sagas) throw new NotConfiguredError('sagas');
      const query = request.query as {
        saga?: string;
        status?: SagaStatus;
        after?: string;
        limit: number;
      };
      const filters = {
        ...(query.saga !== undefined ? { saga: query.saga } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
      };
      const [instances, total] = await Promise.all([
        sagas.listInstances({
          limit: query.limit,
          ...filters,
          ...(query.after !== undefined ? { after: query.after } : {}),
        }),
        sagas.countInstances ? sagas.countInstances(filters) : null,
      ]);
      const last = instances[instances.length - 1];
      return {
        instances,
        next: last && instances.length === query.limit ? last.id : null,
        total,
      };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/sagas/:saga/:id',
    operationId: 'getSaga',
    summary: 'One saga instance with its history and timers',
    tags: ['sagas'],
    access: 'admin',
    params: {
      type: 'object',
      required: ['saga', 'id'],
      properties: { saga: { type: 'string', minLength: 1 }, id: { type: 'string', minLength: 1 } },
    },
    responses: {
      200: { description: 'The instance', schema: { type: 'object' } },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler(request) {
      const sagas = ctx.options.sagas;
      if (!sagas) throw new NotConfiguredError('sagas');
      const { saga, id } = request.params as { saga: string; id: string };
      const instance = await sagas.getInstance(saga, id);
      if (!instance) throw new NotFoundError(`No instance "${id}" of saga "${saga}"`, { saga, id });
      return instance;
    },
  });

  const sagaCommands = () => {
    const admin = ctx.options.sagaCommands;
    if (!admin) throw new NotConfiguredError('saga command administration');
    return admin;
  };

  ctx.route({
    method: 'GET',
    url: '/saga-commands/parked',
    operationId: 'listParkedSagaCommands',
    summary: 'Saga outbox commands that were given up (parked)',
    description:
      'Paged by outbox sequence number: pass the `next` of a page as `after`. Retry or skip each one.',
    tags: ['sagas'],
    access: 'admin',
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        source: { type: 'string', minLength: 1 },
        instance: { type: 'string', minLength: 1 },
        after: { type: 'integer', minimum: 0 },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      },
    },
    responses: {
      200: { description: 'Parked commands, in recording order', schema: { type: 'object' } },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler(request) {
      const query = request.query as {
        source?: string;
        instance?: string;
        after?: number;
        limit: number;
      };
      const commands = await sagaCommands().listParked({
        limit: query.limit,
        ...(query.source !== undefined ? { source: query.source } : {}),
        ...(query.instance !== undefined ? { instanceId: query.instance } : {}),
        ...(query.after !== undefined ? { after: query.after } : {}),
      });
      const last = commands[commands.length - 1];
      return {
        commands: commands.map(outboxJson),
        next: last && commands.length === query.limit ? last.seq : null,
      };
    },
  });

  for (const action of ['retry', 'skip'] as const) {
    ctx.route({
      method: 'POST',
      url: `/saga-commands/:commandId/${action}`,
      operationId: `${action}ParkedSagaCommand`,
      summary:
        action === 'retry'
          ? 'Send a parked saga command again, with the same command id'
          : 'Give up a parked saga command for good (recorded in its instance)',
      description:
        action === 'retry'
          ? "A retried compensation makes a `failed` instance `compensating` again; it ends `compensated` once the command is accepted. A saga's forward command of an instance that no longer runs cannot be retried (409)."
          : 'A skipped compensation counts as settled: a `failed` instance with nothing else parked or pending ends `compensated`.',
      tags: ['sagas'],
      access: 'admin',
      params: {
        type: 'object',
        required: ['commandId'],
        properties: { commandId: { type: 'string', minLength: 1, maxLength: 300 } },
      },
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { reason: { type: 'string', maxLength: 1000 } },
      },
      responses: {
        200: {
          description: 'The command and its instance after the change',
          schema: {
            type: 'object',
            properties: {
              commandId: { type: 'string' },
              status: { type: 'string', enum: ['pending', 'skipped'] },
              instance: { type: ['object', 'null'] },
            },
          },
        },
        400: error(400),
        ...ADMIN_ERRORS,
        404: error(404),
        409: error(409),
        415: error(415),
      },
      async handler(request) {
        const { commandId } = request.params as { commandId: string };
        const { reason } = request.body as { reason?: string };
        const admin = sagaCommands();
        const options = reason === undefined ? {} : { reason };
        try {
          const result =
            action === 'retry'
              ? await admin.retry(commandId, options)
              : await admin.skip(commandId, options);
          request.log.info(
            { commandId, action, instance: result.instance },
            'saga command handled',
          );
          return result;
        } catch (failure) {
          throw sagaCommandError(failure);
        }
      },
    });
  }

  const registry = () => {
    const schemas = ctx.options.schemas;
    if (!schemas) throw new NotConfiguredError('a schema registry');
    return schemas;
  };
  const SCHEMA_BODY = {
    type: 'object',
    required: ['schema'],
    additionalProperties: false,
    properties: {
      schema: { type: 'object', description: 'A JSON Schema' },
      version: { type: 'integer', minimum: 1 },
      compatibility: { type: 'string', enum: ['backward', 'forward', 'full', 'none'] },
    },
  } as const;
  const TYPE_PARAMS = {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', minLength: 1, maxLength: 200 } },
  } as const;
  const schemaJson = (record: {
    type: string;
    version: number;
    schema: unknown;
    registeredAt: Date;
  }) => ({
    ...record,
    registeredAt: record.registeredAt.toISOString(),
    compatibility: registry().compatibility(record.type),
  });

  ctx.route({
    method: 'GET',
    url: '/schemas',
    operationId: 'listSchemas',
    summary: 'Every registered schema, by type then version',
    tags: ['schemas'],
    access: 'admin',
    responses: {
      200: { description: 'Schemas', schema: { type: 'object' } },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler() {
      const schemas = registry();
      await schemas.refresh();
      return { schemas: schemas.list().map(schemaJson) };
    },
  });

  ctx.route({
    method: 'GET',
    url: '/schemas/:type',
    operationId: 'getSchemaVersions',
    summary: "Every version of one event type's schema",
    tags: ['schemas'],
    access: 'admin',
    params: TYPE_PARAMS,
    responses: {
      200: { description: 'Versions, oldest first', schema: { type: 'object' } },
      ...ADMIN_ERRORS,
      404: error(404),
    },
    async handler(request) {
      const { type } = request.params as { type: string };
      const schemas = registry();
      await schemas.refresh();
      const versions = schemas.versions(type);
      if (versions.length === 0)
        throw new NotFoundError(`No schema is registered for "${type}"`, { type });
      return {
        type,
        compatibility: schemas.compatibility(type),
        versions: versions.map(schemaJson),
      };
    },
  });

  ctx.route({
    method: 'POST',
    url: '/schemas/:type',
    operationId: 'registerSchema',
    summary: 'Register a new schema version',
    description:
      'Checked against the previous version under the type’s compatibility mode; refused with 422 and the breaking changes in `details.issues` when it breaks it.',
    tags: ['schemas'],
    access: 'admin',
    params: TYPE_PARAMS,
    body: SCHEMA_BODY,
    responses: {
      201: {
        description: 'Registered (or already registered identically)',
        schema: { type: 'object' },
      },
      400: error(400),
      ...ADMIN_ERRORS,
      404: error(404),
      409: error(409),
      415: error(415),
      422: error(422),
    },
    async handler(request, reply) {
      const { type } = request.params as { type: string };
      const body = request.body as {
        schema: JsonSchema;
        version?: number;
        compatibility?: CompatibilityMode;
      };
      const record = await registry().register(type, body.schema, {
        ...(body.version !== undefined ? { version: body.version } : {}),
        ...(body.compatibility !== undefined ? { compatibility: body.compatibility } : {}),
      });
      request.log.info({ type, version: record.version }, 'schema registered');
      return reply.code(201).send(schemaJson(record));
    },
  });

  ctx.route({
    method: 'POST',
    url: '/schemas/:type/check',
    operationId: 'checkSchema',
    summary: 'What registering a schema would do, without registering it',
    tags: ['schemas'],
    access: 'admin',
    params: TYPE_PARAMS,
    body: SCHEMA_BODY,
    responses: {
      200: { description: 'Compatibility report', schema: { type: 'object' } },
      400: error(400),
      ...ADMIN_ERRORS,
      404: error(404),
      409: error(409),
      415: error(415),
      422: error(422),
    },
    async handler(request) {
      const { type } = request.params as { type: string };
      const body = request.body as {
        schema: JsonSchema;
        version?: number;
        compatibility?: CompatibilityMode;
      };
      const schemas = registry();
      await schemas.refresh();
      return schemas.check(type, body.schema, {
        ...(body.version !== undefined ? { version: body.version } : {}),
        ...(body.compatibility !== undefined ? { compatibility: body.compatibility } : {}),
      });
    },
  });
}
