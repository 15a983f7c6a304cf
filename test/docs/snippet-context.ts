// What the snippets of the docs take as given: the reader's own objects (a store, a backend, a
// decider, a bus...), with their types, so that each snippet can use them without repeating
// their set-up. Library names are never listed here: a snippet imports what it uses from the
// packages. The snippet check declares each member as a global `const` of the snippets'
// program only (see snippets.ts); a snippet that defines one of them itself shadows it.
import type {
  AccessGuard,
  Backend,
  BusHandler,
  Clock,
  CommandDispatcher,
  CommandEnvelope,
  CommandReply,
  ConsumerGroup,
  TransactionalEventStore,
  DocumentsHandle,
  DataKeyStore,
  MasterKey,
  MessageBus,
  EventInput,
  PersonalDataPolicy,
  Projector,
  RecordedEvent,
  SagaRuntime,
  SchemaRegistry,
  StoreTransaction,
  StreamJob,
  Subscription,
  SubscriptionStorage,
  Translation,
  Upcaster,
} from '@causewayjs/core';
import type { MqttIngest } from '@causewayjs/mqtt';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { inventoryDecider as shopInventoryDecider } from '../../examples/shop/inventory-decider.js';
import type { orderDecider as shopOrderDecider } from '../../examples/shop/order-decider.js';

export interface SnippetContext {
  // Stores and what lives beside them.
  store: TransactionalEventStore;
  backend: Backend;
  storage: SubscriptionStorage;
  registry: SchemaRegistry;
  upcasters: readonly Upcaster<never, unknown>[];
  masterKey: MasterKey;
  personal: Readonly<Record<string, PersonalDataPolicy>>;
  signingKey: string;
  guard: AccessGuard;
  keyStore: DataKeyStore;
  // The shop's order and inventory (examples/shop).
  orderDecider: typeof shopOrderDecider;
  inventoryDecider: typeof shopInventoryDecider;
  // Running parts of an application.
  projector: Projector<StoreTransaction, DocumentsHandle>;
  runtime: SagaRuntime;
  subscription: Subscription;
  mailer: Subscription;
  notifier: ConsumerGroup;
  job: StreamJob<unknown>;
  dispatcher: CommandDispatcher;
  bus: MessageBus;
  nc: NatsConnection;
  ingest: MqttIngest;
  exporter: SpanExporter;
  translation: Translation;
  // Values a snippet passes along.
  event: RecordedEvent;
  events: EventInput[];
  inventoryHandler: (command: CommandEnvelope) => Promise<CommandReply>;
  failing: BusHandler;
  myClock: Clock;
  logger: { warn(fields: object, message: string): void };
  log: { info(fields: object): void };
  audit: (event: RecordedEvent) => void;
}
