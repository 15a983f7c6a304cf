import {
  ScavengeRunningError,
  ScavengeUnsupportedError,
  isScavengeable,
  type ScavengeOptions,
  type ScavengeReport,
} from '@causewayjs/core';
import { ERROR_SCHEMA, type RouteContext } from '../route-context.js';
import { HttpError } from '../server-errors.js';
import { ERROR_DESCRIPTIONS } from './stream-routes.js';

const error = (status: number) => ({
  description: ERROR_DESCRIPTIONS[status] ?? 'Error',
  schema: ERROR_SCHEMA,
});

const REPORT_SCHEMA = {
  type: 'object',
  required: [
    'dryRun',
    'eventsRemoved',
    'streamsScavenged',
    'streamsEmptied',
    'bytesRemoved',
    'batches',
  ],
  properties: {
    dryRun: { type: 'boolean' },
    eventsRemoved: { type: 'integer' },
    streamsScavenged: { type: 'integer' },
    streamsEmptied: { type: 'integer' },
    bytesRemoved: { type: 'integer' },
    batches: { type: 'integer' },
    fileBytesFreed: { type: 'integer' },
    snapshotsCleared: { type: 'integer' },
    interrupted: { type: 'boolean' },
  },
} as const;

/**
 * `POST /admin/scavenge` (admin): removes for good what reads no longer show (see
 * `Scavengeable`) and answers the report. Runs through `options.scavenge` when given (a
 * backend's, which also clears tombstoned streams' snapshots), else the served store's own.
 * The request waits for the whole run; one run at a time (a second answers 409).
 */
export function registerScavengeRoute(ctx: RouteContext): void {
  let running = false;
  ctx.route({
    method: 'POST',
    url: '/admin/scavenge',
    operationId: 'scavenge',
    summary: 'Remove for good the events reads no longer show',
    description:
      'Events of hard-deleted streams, and events hidden by truncateBefore, maxCount or maxAge, are deleted in batches (each its own transaction); positions are never reused. Answers what was removed (with dryRun: what would be).',
    tags: ['admin'],
    access: 'admin',
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        batchSize: { type: 'integer', minimum: 1, maximum: 100_000 },
        dryRun: { type: 'boolean' },
        vacuum: { type: 'boolean' },
      },
    },
    responses: {
      200: { description: 'What was removed', schema: REPORT_SCHEMA },
      400: error(400),
      401: error(401),
      403: error(403),
      409: error(409),
      501: error(501),
      503: error(503),
    },
    async handler(request) {
      const body = (request.body ?? {}) as Pick<ScavengeOptions, 'batchSize' | 'dryRun' | 'vacuum'>;
      if (running) throw new ScavengeRunningError();
      running = true;
      try {
        const report = await scavenge({ ...body });
        request.log.info({ scavenge: report }, 'scavenged');
        return report;
      } catch (error) {
        // Not the server's failure: the store it serves has no such capability.
        if (error instanceof ScavengeUnsupportedError)
          throw new HttpError(501, error.code, error.message);
        throw error;
      } finally {
        running = false;
      }
    },
  });

  function scavenge(options: ScavengeOptions): Promise<ScavengeReport> {
    if (ctx.options.scavenge) return ctx.options.scavenge(options);
    const store = ctx.options.store;
    if (!isScavengeable(store)) throw new ScavengeUnsupportedError('served');
    return store.scavenge(options);
  }
}
