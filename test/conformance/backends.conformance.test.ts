import { describe } from 'vitest';
import { openBackend } from '@causewayjs/core';
import { backendTargets } from './backend-targets.js';
import { describeEventStoreConformance } from '@causewayjs/testing';

// The event store suite on every registered adapter, each opened as a backend from its URL.
for (const [kind, target] of Object.entries(backendTargets)) {
  const skip = await target.unavailable();
  describe.skipIf(skip !== undefined)(`${kind} backend`, () => {
    describeEventStoreConformance(kind, () => {
      const db = target.fresh();
      return Promise.resolve({
        durable: db.durable,
        open: async (options) =>
          (await openBackend(db.url, { ...options, maxConnections: 4 })).store,
        cleanup: () => db.cleanup(),
      });
    });
  });
}
