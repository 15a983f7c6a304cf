/**
 * Read-side shapes of saga instances, shared by the saga runtime (which produces them) and
 * the server, CLI and admin UI (which show them). JSON-serialisable.
 */

/** Where a saga instance is in its life. */
export type SagaStatus = 'running' | 'completed' | 'compensating' | 'compensated' | 'failed';

/** One thing a saga instance received, sent, scheduled or did. */
export interface SagaHistoryEntry {
  /** ISO-8601 time it happened. */
  at: string;
  kind:
    | 'received'
    | 'sent'
    | 'scheduled'
    | 'timer-fired'
    | 'timer-cancelled'
    | 'compensation'
    | 'error';
  /** Event, command or timer type. */
  type: string;
  /** Event, command or timer id. */
  id: string;
  /** Step of the saga after this entry. */
  step?: string | undefined;
  detail?: unknown;
}

/** A timer a saga instance has pending. */
export interface SagaTimerView {
  id: string;
  type: string;
  /** ISO-8601 due time. */
  dueAt: string;
}

/** A saga instance as seen from outside. */
export interface SagaInstanceView {
  /** Saga (process manager) name. */
  saga: string;
  /** Correlation id keying the instance, e.g. the order id. */
  id: string;
  status: SagaStatus;
  /** Current step name. */
  step: string;
  state: unknown;
  startedAt: string;
  updatedAt: string;
  history: SagaHistoryEntry[];
  timers: SagaTimerView[];
}

/** Queries over saga instances. */
export interface SagaQuery {
  listInstances(options?: {
    saga?: string;
    status?: SagaStatus;
    limit?: number;
    /** Continue after this instance id (paging, ordered by id). */
    after?: string;
  }): Promise<SagaInstanceView[]>;
  /**
   * How many instances `listInstances` would list with these filters, over every page: one
   * `COUNT` on the durable adapters. Optional: a query without it has no total.
   */
  countInstances?(options?: { saga?: string; status?: SagaStatus }): Promise<number>;
  getInstance(saga: string, id: string): Promise<SagaInstanceView | undefined>;
}
