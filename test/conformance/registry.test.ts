import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sourcesMatching } from '../support/source-files.js';
import { backendAdapters } from '@causewayjs/core';
import { backendTargets } from './backend-targets.js';

// An adapter cannot be registered without a conformance target: `backendTargets` is typed by
// the registry's names (a missing one does not compile), and this checks there is no extra.
describe('adapter registry', () => {
  it('has a conformance target for exactly the registered adapters', () => {
    expect(Object.keys(backendTargets).sort()).toEqual(Object.keys(backendAdapters).sort());
  });
});

// Every MessageBus adapter in src runs the shared bus suite, in `<name>-bus.conformance.test.ts`.
describe('message bus adapters', () => {
  const busAdapters: Record<string, string> = {
    'in-process': 'packages/core/src/bus/in-process-bus.ts',
    nats: 'packages/nats/src/nats-message-bus.ts',
    rabbitmq: 'packages/rabbitmq/src/rabbitmq-message-bus.ts',
  };
  it('lists every class that implements MessageBus', () => {
    const found = sourcesMatching(/implements MessageBus\b/);
    expect(found).toEqual(Object.values(busAdapters).sort());
  });
  for (const name of Object.keys(busAdapters)) {
    it(`${name} runs the message bus conformance suite`, () => {
      const file = new URL(`./${name}-bus.conformance.test.ts`, import.meta.url);
      expect(existsSync(file), `${file.pathname} is missing`).toBe(true);
      expect(readFileSync(file, 'utf8')).toMatch(/describeMessageBusConformance\(\s*'/);
    });
  }
});

// Every SagaStore in src runs the shared saga store suite, in `<name>-saga-store.conformance.test.ts`.
describe('saga store adapters', () => {
  const sagaStores: Record<string, string> = {
    memory: 'packages/core/src/sagas/memory-saga-store.ts',
    sqlite: 'packages/sqlite/src/sqlite-saga-store.ts',
    postgres: 'packages/postgres/src/postgres-saga-store.ts',
  };
  it('lists every class that implements SagaStore', () => {
    const found = sourcesMatching(/implements SagaStore\b/);
    expect(found).toEqual(Object.values(sagaStores).sort());
  });
  for (const name of Object.keys(sagaStores)) {
    it(`${name} runs the saga store conformance suite`, () => {
      const file = new URL(`./${name}-saga-store.conformance.test.ts`, import.meta.url);
      expect(existsSync(file), `${file.pathname} is missing`).toBe(true);
      expect(readFileSync(file, 'utf8')).toMatch(/describeSagaStoreConformance\(\s*'/);
    });
  }
});

// Every StreamStateStore in src runs the shared suite, in `<name>-stream-state.conformance.test.ts`.
describe('stream state stores', () => {
  const stateStores: Record<string, string> = {
    memory: 'packages/core/src/streams/memory-stream-state-store.ts',
    sqlite: 'packages/sqlite/src/sqlite-stream-state-store.ts',
    postgres: 'packages/postgres/src/postgres-stream-state-store.ts',
  };
  it('lists every class that implements StreamStateStore', () => {
    const found = sourcesMatching(/implements StreamStateStore\b/);
    expect(found).toEqual(Object.values(stateStores).sort());
  });
  for (const name of Object.keys(stateStores)) {
    it(`${name} runs the stream state conformance suite`, () => {
      const file = new URL(`./${name}-stream-state.conformance.test.ts`, import.meta.url);
      expect(existsSync(file), `${file.pathname} is missing`).toBe(true);
      expect(readFileSync(file, 'utf8')).toMatch(/describeStreamStateConformance\(\s*'/);
    });
  }
});

// Every Documents implementation in src runs the shared suite, in `<name>-document-store.conformance.test.ts`.
describe('document stores', () => {
  const documentStores: Record<string, string> = {
    memory: 'packages/core/src/projections/memory-documents.ts',
    sqlite: 'packages/sqlite/src/sqlite-documents.ts',
    postgres: 'packages/postgres/src/postgres-documents.ts',
  };
  it('lists every class that implements Documents', () => {
    const found = sourcesMatching(/implements Documents\b/);
    expect(found).toEqual(Object.values(documentStores).sort());
  });
  for (const name of Object.keys(documentStores)) {
    it(`${name} runs the document store conformance suite`, () => {
      const file = new URL(`./${name}-document-store.conformance.test.ts`, import.meta.url);
      expect(existsSync(file), `${file.pathname} is missing`).toBe(true);
      expect(readFileSync(file, 'utf8')).toMatch(
        /describeDocumentStoreConformance(<[^>]*>)?\(\s*'/,
      );
    });
  }
});
