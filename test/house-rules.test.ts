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
const ABOVE_CORE = /never on an adapter, the server, the CLI or testing/;
const DRIVER_FREE = /The core is driver-free/;
const OBSERVABILITY = /observability reads sagas, projections and the bus/;
const ADAPTER = /imports only the core and its own driver/;
const CORE_USER = /build on the core and its ports only/;

describe('core imports nothing of ours', () => {
  it('refuses a module of ours, a type of ours, and our packages', async () => {
    const file = 'packages/core/src/core/fake.ts';
    await expectRefused(
      file,
      "import { collect } from '../store/collect.js';\nvoid collect;",
      CORE,
    );
    await expectRefused(
      file,
      "import type { EventStore } from '../store/event-store.js';\nexport type S = EventStore;",
      CORE,
    );
    await expectRefused(file, "export { openEventStore } from '@causewayjs/core';", CORE);
    await expectRefused(
      file,
      "import { projectionStatus } from '@causewayjs/core/internals';\nvoid projectionStatus;",
      CORE,
    );
    await expectRefused(file, "export const load = () => import('../domain/index.js');", CORE);
    await expectRefused(
      file,
      "export type S = import('@causewayjs/sqlite').SqliteEventStore;",
      CORE,
    );
  });

  it('refuses a driver', async () => {
    await expectRefused(
      'packages/core/src/core/fake.ts',
      "import type { Pool } from 'pg';\nexport type P = Pool;",
      DRIVER_FREE,
    );
  });

  it('accepts core, node: builtins and npm packages', async () => {
    await expectAllowed(
      'packages/core/src/core/fake.ts',
      [
        "import { randomUUID } from 'node:crypto';",
        "import { v7 } from 'uuid';",
        "import { CausewayError } from './errors.js';",
        'export const all = [randomUUID, v7, CausewayError];',
      ].join('\n'),
    );
  });
});

describe('modules of the core never import the packages built on it', () => {
  it('refuses every adapter, the server, the CLI and testing, from any module and at any depth', async () => {
    for (const module of [
      'store',
      'subscriptions',
      'projections',
      'sagas',
      'bus',
      'streams',
      'federation',
      'observability',
    ]) {
      for (const name of ['sqlite', 'postgres', 'nats', 'rabbitmq', 'mqtt', 'server', 'cli']) {
        await expectRefused(
          `packages/core/src/${module}/fake.ts`,
          `import * as other from '@causewayjs/${name}';\nvoid other;`,
          ABOVE_CORE,
        );
      }
    }
    await expectRefused(
      'packages/core/src/security/deeper/fake.ts',
      "import { describeEventStore } from '@causewayjs/testing';\nvoid describeEventStore;",
      ABOVE_CORE,
    );
    await expectRefused(
      'packages/core/src/index.ts',
      "export * from '@causewayjs/server/internals';",
      ABOVE_CORE,
    );
  });

  it('refuses them for a type, dynamically, and as an import type', async () => {
    await expectRefused(
      'packages/core/src/store/fake.ts',
      "import type { PostgresEventStore } from '@causewayjs/postgres';\nexport type S = PostgresEventStore;",
      ABOVE_CORE,
    );
    await expectRefused(
      'packages/core/src/schema/fake.ts',
      "export const open = () => import('@causewayjs/sqlite');",
      ABOVE_CORE,
    );
    await expectRefused(
      'packages/core/src/open-backend.ts',
      "export type B = import('@causewayjs/rabbitmq').RabbitMqMessageBus;",
      ABOVE_CORE,
    );
  });

  it('refuses every driver and fastify, statically, dynamically or as an import type', async () => {
    for (const driver of [
      'better-sqlite3',
      'pg',
      'pg-cursor',
      '@nats-io/jetstream',
      '@nats-io/transport-node',
      'amqplib',
      'mqtt',
      'fastify',
    ]) {
      await expectRefused(
        'packages/core/src/bus/fake.ts',
        `import * as driver from '${driver}';\nvoid driver;`,
        DRIVER_FREE,
      );
    }
    await expectRefused(
      'packages/core/src/streams/fake.ts',
      "export const connect = () => import('@nats-io/transport-node');",
      DRIVER_FREE,
    );
    await expectRefused(
      'packages/core/src/observability/fake.ts',
      "export type C = import('amqplib').Channel;",
      DRIVER_FREE,
    );
  });

  it('accepts ports, other modules, and loading an adapter package by a name in a variable', async () => {
    await expectAllowed(
      'packages/core/src/projections/fake.ts',
      [
        "import type { EventStore } from '../store/event-store.js';",
        "import { CausewayError } from '../core/errors.js';",
        "import { projection } from './projection.js';",
        'export type S = EventStore;',
        'export const all = [CausewayError, projection];',
      ].join('\n'),
    );
    await expectAllowed(
      'packages/core/src/open-backend.ts',
      [
        "const packageName: string = '@causewayjs/sqlite';",
        'export const load = () => import(packageName);',
      ].join('\n'),
    );
  });

  it("lets the composition roots' tests open an adapter, but nothing else built on the core", async () => {
    await expectAllowed(
      'packages/core/src/open-event-store.test.ts',
      "import { SqliteEventStore } from '@causewayjs/sqlite';\nexport const open = () => import('@causewayjs/postgres');\nvoid SqliteEventStore;",
    );
    await expectRefused(
      'packages/core/src/open-backend.test.ts',
      "import { createServer } from '@causewayjs/server';\nvoid createServer;",
      ABOVE_CORE,
    );
    await expectRefused(
      'packages/core/src/store-stack.test.ts',
      "import Database from 'better-sqlite3';\nvoid Database;",
      DRIVER_FREE,
    );
    await expectRefused(
      'packages/core/src/store/fake.test.ts',
      "import { SqliteEventStore } from '@causewayjs/sqlite';\nvoid SqliteEventStore;",
      ABOVE_CORE,
    );
  });
});

describe('observability reads other modules through interfaces of its own', () => {
  it('refuses sagas, projections and the bus, types included', async () => {
    await expectRefused(
      'packages/core/src/observability/fake.ts',
      "import type { SagaStatus } from '../sagas/saga-view.js';\nexport type S = SagaStatus;",
      OBSERVABILITY,
    );
    await expectRefused(
      'packages/core/src/observability/fake.ts',
      "import { type ProjectionStatus } from '../projections/projection-status.js';\nexport type S = ProjectionStatus;",
      OBSERVABILITY,
    );
    await expectRefused(
      'packages/core/src/observability/fake.ts',
      "export type S = import('../bus/outbox-relay.js').OutboxRelayStatus;",
      OBSERVABILITY,
    );
    await expectRefused(
      'packages/core/src/observability/deeper/fake.ts',
      "export const load = () => import('../../bus/index.js');",
      OBSERVABILITY,
    );
    await expectRefused(
      'packages/core/src/observability/fake.ts',
      "export { OutboxRelay } from '../bus/index.js';",
      OBSERVABILITY,
    );
  });

  it('accepts core, the store and its own files', async () => {
    await expectAllowed(
      'packages/core/src/observability/fake.ts',
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

describe('an adapter imports the core and its own driver only', () => {
  it('refuses another adapter, whatever the way', async () => {
    await expectRefused(
      'packages/sqlite/src/fake.ts',
      "import { PostgresEventStore } from '@causewayjs/postgres';\nvoid PostgresEventStore;",
      ADAPTER,
    );
    await expectRefused(
      'packages/mqtt/src/fake.ts',
      "import type { NatsMessageBus } from '@causewayjs/nats';\nexport type B = NatsMessageBus;",
      ADAPTER,
    );
    await expectRefused(
      'packages/nats/src/fake.ts',
      "export const open = () => import('@causewayjs/rabbitmq');",
      ADAPTER,
    );
    await expectRefused(
      'packages/rabbitmq/src/fake.ts',
      "export type P = import('@causewayjs/mqtt').MqttPublisher;",
      ADAPTER,
    );
  });

  it("refuses another adapter's driver", async () => {
    const foreign: Record<string, string> = {
      sqlite: 'pg',
      postgres: 'better-sqlite3',
      nats: 'amqplib',
      rabbitmq: 'mqtt',
      mqtt: '@nats-io/jetstream',
    };
    for (const [adapter, driver] of Object.entries(foreign)) {
      await expectRefused(
        `packages/${adapter}/src/fake.ts`,
        `import * as driver from '${driver}';\nvoid driver;`,
        ADAPTER,
      );
    }
    await expectRefused(
      'packages/sqlite/src/fake.ts',
      "import type Cursor from 'pg-cursor';\nexport type C = Cursor;",
      ADAPTER,
    );
  });

  it('refuses the server and the CLI, in its tests too', async () => {
    await expectRefused(
      'packages/nats/src/fake.ts',
      "import { createServer } from '@causewayjs/server';\nvoid createServer;",
      ADAPTER,
    );
    await expectRefused(
      'packages/postgres/src/fake.test.ts',
      "import { program } from '@causewayjs/cli/internals';\nvoid program;",
      ADAPTER,
    );
  });

  it('accepts its own driver, its own files and the core', async () => {
    await expectAllowed(
      'packages/postgres/src/fake.ts',
      [
        "import pg from 'pg';",
        "import Cursor from 'pg-cursor';",
        "import { migrate } from './postgres-migrations.js';",
        "import type { EventStore } from '@causewayjs/core';",
        "import { SubscriptionErrorCode } from '@causewayjs/core/internals';",
        'export type S = EventStore;',
        'export const all = [pg, Cursor, migrate, SubscriptionErrorCode];',
      ].join('\n'),
    );
    await expectAllowed(
      'packages/nats/src/fake.ts',
      "import { jetstream } from '@nats-io/jetstream';\nimport { connect } from '@nats-io/transport-node';\nexport const all = [jetstream, connect];",
    );
    await expectAllowed(
      'packages/rabbitmq/src/fake.ts',
      "import amqp from 'amqplib';\nexport type C = import('amqplib').Channel;\nvoid amqp;",
    );
    await expectAllowed(
      'packages/mqtt/src/fake.ts',
      "import mqtt from 'mqtt';\nexport const open = () => import('mqtt');\nvoid mqtt;",
    );
    await expectAllowed(
      'packages/sqlite/src/fake.test.ts',
      "import Database from 'better-sqlite3';\nimport { describeEventStore } from '@causewayjs/testing';\nexport const all = [Database, describeEventStore];",
    );
  });
});

describe('the server and the testing package build on the core only', () => {
  it('refuses an adapter, the CLI and a driver, whatever the way', async () => {
    await expectRefused(
      'packages/server/src/routes/fake.ts',
      "import type { PostgresEventStore } from '@causewayjs/postgres';\nexport type S = PostgresEventStore;",
      CORE_USER,
    );
    await expectRefused(
      'packages/server/src/fake.ts',
      "export const run = () => import('@causewayjs/cli');",
      CORE_USER,
    );
    await expectRefused(
      'packages/server/src/fake.test.ts',
      "import { SqliteEventStore } from '@causewayjs/sqlite';\nvoid SqliteEventStore;",
      CORE_USER,
    );
    await expectRefused(
      'packages/testing/src/fake.suite.ts',
      "export type B = import('@causewayjs/nats').NatsMessageBus;",
      CORE_USER,
    );
    await expectRefused(
      'packages/testing/src/fake.ts',
      "import Database from 'better-sqlite3';\nvoid Database;",
      CORE_USER,
    );
    await expectRefused(
      'packages/server/src/fake.ts',
      "export const connect = () => import('@nats-io/transport-node');",
      CORE_USER,
    );
  });

  it('accepts the core, its own files and its own npm packages', async () => {
    await expectAllowed(
      'packages/server/src/fake.ts',
      [
        "import Fastify from 'fastify';",
        "import type { EventStore } from '@causewayjs/core';",
        "import { errorResponse } from './error-response.js';",
        'export type S = EventStore;',
        'export const all = [Fastify, errorResponse];',
      ].join('\n'),
    );
    await expectAllowed(
      'packages/testing/src/fake.suite.ts',
      [
        "import { describe } from 'vitest';",
        "import { MemoryEventStore } from '@causewayjs/core';",
        "import { collect } from '@causewayjs/core/internals';",
        'export const all = [describe, MemoryEventStore, collect];',
      ].join('\n'),
    );
  });
});

describe('the CLI, the composition root of the family, imports every package', () => {
  it('accepts adapters and the server', async () => {
    await expectAllowed(
      'packages/cli/src/fake.ts',
      [
        "import { SqliteEventStore } from '@causewayjs/sqlite';",
        "import { createServer } from '@causewayjs/server';",
        "export const open = () => import('@causewayjs/postgres');",
        'export const all = [SqliteEventStore, createServer];',
      ].join('\n'),
    );
  });
});
