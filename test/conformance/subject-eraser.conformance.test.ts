// The subject erasers of the durable adapters (the memory backend has none: its copies live
// in the process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { openBackend } from '@causewayjs/core';
import { describeSubjectEraserConformance } from '@causewayjs/testing';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

describeSubjectEraserConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-eraser-'));
  return Promise.resolve({
    open: () => openBackend(`sqlite:${join(dir, 'events.db')}`),
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
});

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeSubjectEraserConformance('postgres', () => {
    const schema = randomSchemaName();
    return Promise.resolve({
      open: () => openBackend(pgUrl, { schema, maxConnections: 4 }),
      cleanup: () => dropSchema(schema),
    });
  });
});
