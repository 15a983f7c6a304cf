import type { RecordedEvent } from '@causewayjs/core';

/** An event as the HTTP API sends it: the envelope, `recordedAt` as an ISO-8601 string. */
export interface EventJson {
  id: string;
  type: string;
  stream: string;
  revision: number;
  position: number;
  data: unknown;
  metadata: Record<string, unknown>;
  schemaVersion: number;
  recordedAt: string;
}

/** The JSON form of a recorded event. */
export function eventJson(event: RecordedEvent): EventJson {
  return {
    id: event.id,
    type: event.type,
    stream: event.stream,
    revision: event.revision,
    position: event.position,
    data: event.data,
    metadata: event.metadata,
    schemaVersion: event.schemaVersion,
    recordedAt: event.recordedAt.toISOString(),
  };
}

/** JSON Schema of {@link EventJson}, shared by the route schemas and the OpenAPI document. */
export const EVENT_JSON_SCHEMA = {
  type: 'object',
  required: [
    'id',
    'type',
    'stream',
    'revision',
    'position',
    'data',
    'metadata',
    'schemaVersion',
    'recordedAt',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    type: { type: 'string' },
    stream: { type: 'string' },
    revision: { type: 'integer', minimum: 0 },
    position: { type: 'integer', minimum: 1 },
    data: {},
    metadata: { type: 'object', additionalProperties: true },
    schemaVersion: { type: 'integer', minimum: 1 },
    recordedAt: { type: 'string', format: 'date-time' },
  },
} as const;
