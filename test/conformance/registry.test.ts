import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backendAdapters } from '../../src/open-backend.js';
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
    'in-process': 'src/bus/in-process-bus.ts',
    nats: 'src/adapters/nats/nats-message-bus.ts',
    rabbitmq: 'src/adapters/rabbitmq/rabbitmq-message-bus.ts',
  };
  it('lists every class that implements MessageBus', async () => {
    const { readdirSync } = await import('node:fs');
    const root = new URL('../../', import.meta.url);
    const found = (readdirSync(new URL('src', root), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) =>
        /implements MessageBus\b/.test(readFileSync(new URL(`src/${f}`, root), 'utf8')),
      )
      .map((f) => `src/${f.replaceAll('\\', '/')}`)
      .sort();
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
    memory: 'src/sagas/memory-saga-store.ts',
    sqlite: 'src/adapters/sqlite/sqlite-saga-store.ts',
    postgres: 'src/adapters/postgres/postgres-saga-store.ts',
  };
  it('lists every class that implements SagaStore', async () => {
    const { readdirSync } = await import('node:fs');
    const root = new URL('../../', import.meta.url);
    const found = (readdirSync(new URL('src', root), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => /implements SagaStore\b/.test(readFileSync(new URL(`src/${f}`, root), 'utf8')))
      .map((f) => `src/${f.replaceAll('\\', '/')}`)
      .sort();
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
    memory: 'src/streams/memory-stream-state-store.ts',
    sqlite: 'src/adapters/sqlite/sqlite-stream-state-store.ts',
    postgres: 'src/adapters/postgres/postgres-stream-state-store.ts',
  };
  it('lists every class that implements StreamStateStore', async () => {
    const { readdirSync } = await import('node:fs');
    const root = new URL('../../', import.meta.url);
    const found = (readdirSync(new URL('src', root), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) =>
        /implements StreamStateStore\b/.test(readFileSync(new URL(`src/${f}`, root), 'utf8')),
      )
      .map((f) => `src/${f.replaceAll('\\', '/')}`)
      .sort();
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
    memory: 'src/projections/memory-documents.ts',
    sqlite: 'src/adapters/sqlite/sqlite-documents.ts',
    postgres: 'src/adapters/postgres/postgres-documents.ts',
  };
  it('lists every class that implements Documents', async () => {
    const { readdirSync } = await import('node:fs');
    const root = new URL('../../', import.meta.url);
    const found = (readdirSync(new URL('src', root), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => /implements Documents\b/.test(readFileSync(new URL(`src/${f}`, root), 'utf8')))
      .map((f) => `src/${f.replaceAll('\\', '/')}`)
      .sort();
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
