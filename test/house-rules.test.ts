// The layout's arrows (DESIGN.md §2) are eslint rules; these tests lint snippets under made-up
// paths with the project's own eslint.config.js, so a rule that stops matching (a renamed
// folder, a broken pattern, a block that overrides another) fails here, not silently.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// Type information is not needed by the import rules and would cost a whole program per run.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }],
});

const HOUSE_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

/** The house-rule messages for `code` as if it were the file at `path` (relative to the root). */
async function violations(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  const messages = result?.messages ?? [];
  const fatal = messages.filter((m) => m.fatal);
  expect(fatal, `${path} parses`).toEqual([]);
  return messages.filter((m) => m.ruleId && HOUSE_RULES.has(m.ruleId)).map((m) => m.message);
}

async function expectRefused(path: string, code: string, because: RegExp): Promise<void> {
  const found = await violations(path, code);
  expect(found, `${path}: ${code}`).toHaveLength(1);
  expect(found[0]).toMatch(because);
}

async function expectAllowed(path: string, code: string): Promise<void> {
  expect(await violations(path, code), `${path}: ${code}`).toEqual([]);
}

const CORE = /core imports nothing of ours/;
const ADAPTERS = /never on adapters/;
const OBSERVABILITY = /observability reads sagas, projections and the bus/;
const ADAPTER = /imports only core modules and its own driver/;
const ROOT = /does not import a composition root/;

describe('core imports nothing of ours', () => {
  it('refuses a module of ours, a type of ours, and the package itself', async () => {
    await expectRefused(
      'src/core/fake.ts',
      "import { collect } from '../store/collect.js';\nvoid collect;",
      CORE,
    );
    await expectRefused(
      'src/core/fake.ts',
      "import type { EventStore } from '../store/event-store.js';\nexport type S = EventStore;",
      CORE,
    );
    await expectRefused('src/core/fake.ts', "export { openEventStore } from 'causeway';", CORE);
    await expectRefused(
      'src/core/fake.ts',
      "export const load = () => import('../domain/index.js');",
      CORE,
    );
  });

  it('accepts core, node: builtins and npm packages', async () => {
    await expectAllowed(
      'src/core/fake.ts',
      [
        "import { randomUUID } from 'node:crypto';",
        "import { v7 } from 'uuid';",
        "import { CausewayError } from './errors.js';",
        'export const all = [randomUUID, v7, CausewayError];',
      ].join('\n'),
    );
  });
});

describe('modules never import adapters', () => {
  it('refuses an adapter from any module, at any depth, even for a type or dynamically', async () => {
    for (const module of [
      'store',
      'subscriptions',
      'projections',
      'sagas',
      'bus',
      'streams',
      'federation',
    ]) {
      await expectRefused(
        `src/${module}/fake.ts`,
        "import { SqliteEventStore } from '../adapters/sqlite/index.js';\nvoid SqliteEventStore;",
        ADAPTERS,
      );
    }
    await expectRefused(
      'src/server/routes/fake.ts',
      "import type { PostgresEventStore } from '../../adapters/postgres/postgres-event-store.js';\nexport type S = PostgresEventStore;",
      ADAPTERS,
    );
    await expectRefused(
      'src/schema/fake.ts',
      "export const open = () => import('../adapters/sqlite/sqlite-event-store.js');",
      ADAPTERS,
    );
    await expectRefused(
      'src/security/fake.ts',
      "export type S = import('../adapters/sqlite/sqlite-event-store.js').SqliteEventStore;",
      ADAPTERS,
    );
    await expectRefused(
      'src/domain/fake.ts',
      "export { NatsMessageBus } from 'causeway/nats';",
      ADAPTERS,
    );
    await expectRefused('src/index.ts', "export * from './adapters/sqlite/index.js';", ADAPTERS);
    await expectRefused(
      'src/observability/fake.ts',
      "import { SqliteEventStore } from '../adapters/sqlite/index.js';\nvoid SqliteEventStore;",
      ADAPTERS,
    );
  });

  it('accepts ports and other modules', async () => {
    await expectAllowed(
      'src/projections/fake.ts',
      [
        "import type { EventStore } from '../store/event-store.js';",
        "import { CausewayError } from '../core/errors.js';",
        "import { projection } from './projection.js';",
        'export type S = EventStore;',
        'export const all = [CausewayError, projection];',
      ].join('\n'),
    );
  });

  it('lets the composition roots and the CLI choose an adapter', async () => {
    for (const path of ['src/open-event-store.ts', 'src/open-backend.ts', 'src/store-stack.ts']) {
      await expectAllowed(
        path,
        "import { SqliteEventStore } from './adapters/sqlite/index.js';\nexport const open = () => import('./adapters/postgres/index.js');\nvoid SqliteEventStore;",
      );
    }
    await expectAllowed(
      'src/cli/fake.ts',
      "import { SqliteEventStore } from '../adapters/sqlite/index.js';\nvoid SqliteEventStore;",
    );
  });
});

describe('observability reads other modules through interfaces of its own', () => {
  it('refuses sagas, projections and the bus, types included', async () => {
    await expectRefused(
      'src/observability/fake.ts',
      "import type { SagaStatus } from '../sagas/saga-view.js';\nexport type S = SagaStatus;",
      OBSERVABILITY,
    );
    await expectRefused(
      'src/observability/fake.ts',
      "import { type ProjectionStatus } from '../projections/projection-status.js';\nexport type S = ProjectionStatus;",
      OBSERVABILITY,
    );
    await expectRefused(
      'src/observability/fake.ts',
      "export type S = import('../bus/outbox-relay.js').OutboxRelayStatus;",
      OBSERVABILITY,
    );
    await expectRefused(
      'src/observability/fake.ts',
      "export { OutboxRelay } from '../bus/index.js';",
      OBSERVABILITY,
    );
  });

  it('accepts core, the store and its own files', async () => {
    await expectAllowed(
      'src/observability/fake.ts',
      [
        "import type { RecordedEvent } from '../core/envelope.js';",
        "import { ForwardingEventStore } from '../store/forwarding-event-store.js';",
        "import { withSpan } from './tracing.js';",
        'export type E = RecordedEvent;',
        'export const all = [ForwardingEventStore, withSpan];',
      ].join('\n'),
    );
  });
});

describe('an adapter imports core modules and its own driver only', () => {
  it('refuses another adapter, its driver, the server and the CLI', async () => {
    await expectRefused(
      'src/adapters/sqlite/fake.ts',
      "import { PostgresEventStore } from '../postgres/index.js';\nvoid PostgresEventStore;",
      ADAPTER,
    );
    await expectRefused(
      'src/adapters/sqlite/fake.ts',
      "import { Client } from 'pg';\nvoid Client;",
      ADAPTER,
    );
    await expectRefused(
      'src/adapters/postgres/fake.ts',
      "import type { Database } from 'better-sqlite3';\nexport type D = Database;",
      ADAPTER,
    );
    await expectRefused(
      'src/adapters/postgres/fake.ts',
      "import { jetstream } from '@nats-io/jetstream';\nvoid jetstream;",
      ADAPTER,
    );
    await expectRefused(
      'src/adapters/nats/fake.ts',
      "import { createServer } from '../../server/index.js';\nvoid createServer;",
      ADAPTER,
    );
    await expectRefused(
      'src/adapters/nats/fake.test.ts',
      "import { program } from '../../cli/program.js';\nvoid program;",
      ADAPTER,
    );
  });

  it('refuses a composition root, except in its tests', async () => {
    const code =
      "import { openEventStore } from '../../open-event-store.js';\nvoid openEventStore;";
    await expectRefused('src/adapters/postgres/fake.ts', code, ROOT);
    await expectAllowed('src/adapters/postgres/fake.test.ts', code);
  });

  it('accepts its own driver, its own files and core modules', async () => {
    await expectAllowed(
      'src/adapters/postgres/fake.ts',
      [
        "import pg from 'pg';",
        "import Cursor from 'pg-cursor';",
        "import { migrate } from './postgres-migrations.js';",
        "import type { EventStore } from '../../store/event-store.js';",
        "import { SubscriptionErrorCode } from '../../subscriptions/subscription-errors.js';",
        'export type S = EventStore;',
        'export const all = [pg, Cursor, migrate, SubscriptionErrorCode];',
      ].join('\n'),
    );
    await expectAllowed(
      'src/adapters/nats/fake.ts',
      "import { jetstream } from '@nats-io/jetstream';\nimport { connect } from '@nats-io/transport-node';\nexport const all = [jetstream, connect];",
    );
  });
});
