// One trace follows a request: HTTP request → append → (event metadata) → projection apply,
// and a command (carrying a saga's trace context) → command span → append → projection.
import { context, propagation, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CommandHandler,
  type Command,
  type Decider,
  type DomainEvent,
  Projector,
  defineProjection,
  memoryProjectionStore,
  type DocumentReadModel,
  type StoreTransaction,
  MemoryEventStore,
} from '@causewayjs/core';
import {
  currentTraceparent,
  parseTraceparent,
  withSpan,
  tracedEventStore,
} from '@causewayjs/core/internals';
import { eventually, startServer, type Running } from './support.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const spans = (name: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

describe('tracing', () => {
  let store: MemoryEventStore;
  let projector: Projector<StoreTransaction, DocumentReadModel>;
  let running: Running;

  beforeAll(async () => {
    provider.register();
    store = new MemoryEventStore();
    projector = new Projector({
      store: memoryProjectionStore(store),
      projections: [
        defineProjection<DocumentReadModel>({
          name: 'order-count',
          version: 1,
          handles: ['order.placed'],
          setup: () => undefined,
          apply: (event, rm) => {
            rm.collection<number>().update('count', (n) => (n ?? 0) + 1);
          },
        }),
      ],
    });
    await projector.start();
    running = await startServer({ store, projectors: [projector], adminUi: false });
  });

  afterAll(async () => {
    await running?.close();
    await projector?.stop();
    await store?.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('links the HTTP request, the append and the projection apply in the caller’s trace', async () => {
    exporter.reset();
    const clientTrace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const reply = await running.http.post(
      '/streams/order-1',
      { events: [{ type: 'order.placed', data: { total: 3 } }] },
      { traceparent: clientTrace },
    );
    expect(reply.status).toBe(201);
    await projector.waitFor('order-count', reply.body.position);
    const apply = await eventually(() => spans('causeway.projection.apply')[0], 5000, 'apply span');

    const [request] = spans('causeway.http.request');
    const [append] = spans('causeway.store.append');
    expect(request).toBeDefined();
    expect(append).toBeDefined();
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    for (const span of [request!, append!, apply]) expect(span.spanContext().traceId).toBe(traceId);
    expect(parentOf(request!)).toBe('b7ad6b7169203331');
    expect(parentOf(append!)).toBe(request!.spanContext().spanId);
    expect(parentOf(apply)).toBe(append!.spanContext().spanId);
    expect(request!.attributes['http.route']).toBe('/streams/:stream');
    expect(request!.attributes['http.response.status_code']).toBe(201);
    expect(apply.attributes['causeway.projection']).toBe('order-count');

    const stored = (await running.http.get('/streams/order-1')).body.events[0];
    expect(parseTraceparent(stored!.metadata.traceparent)?.spanId).toBe(
      append!.spanContext().spanId,
    );
    // Nothing personal rides on spans: no event data in the attributes.
    expect(JSON.stringify([request, append, apply].map((s) => s!.attributes))).not.toContain(
      'total',
    );
  });

  it('starts a new trace for a request without one, and marks failed requests', async () => {
    exporter.reset();
    const reply = await running.http.post('/streams/order-2', {
      events: [{ type: 'order.placed', data: {} }],
      expectedRevision: 7,
    });
    expect(reply.status).toBe(409);
    const [request] = spans('causeway.http.request');
    expect(parentOf(request!)).toBeUndefined();
    expect(request!.attributes['http.response.status_code']).toBe(409);
    const [append] = spans('causeway.store.append');
    expect(append!.status.code).toBe(2);
  });

  it('follows a command carrying a saga’s trace context through its events into projections', async () => {
    exporter.reset();
    type Place = Command<'order.place', { total: number }>;
    type Placed = DomainEvent<'order.placed', { total: number }>;
    const decider: Decider<Place, Placed, null> = {
      initialState: null,
      decide: (command) => [{ type: 'order.placed', data: command.data }],
      evolve: (state) => state,
    };
    const handler = new CommandHandler({ store: tracedEventStore(store), decider });
    let sagaStep = '';
    const result = await withSpan('causeway.saga.step', {}, async () => {
      sagaStep = currentTraceparent()!;
      // The saga's next command travels with the step's trace context in its metadata.
      return handler.handle('order-3', {
        type: 'order.place',
        data: { total: 1 },
        metadata: { traceparent: sagaStep },
      });
    });
    await projector.waitFor('order-count', result.position!);
    const apply = await eventually(
      () =>
        spans('causeway.projection.apply').find(
          (s) => s.attributes['causeway.event.position'] === result.position,
        ),
      5000,
      'apply span',
    );
    const [step] = spans('causeway.saga.step');
    const [command] = spans('causeway.command.handle');
    const [append] = spans('causeway.store.append');
    const traceId = step!.spanContext().traceId;
    for (const span of [command!, append!, apply]) expect(span.spanContext().traceId).toBe(traceId);
    expect(parentOf(command!)).toBe(step!.spanContext().spanId);
    expect(parentOf(append!)).toBe(command!.spanContext().spanId);
    expect(parseTraceparent(result.events[0]!.metadata.traceparent)?.spanId).toBe(
      command!.spanContext().spanId,
    );
    expect(parentOf(apply)).toBe(command!.spanContext().spanId);
    expect(command!.attributes['causeway.command.type']).toBe('order.place');
  });

  it('keeps a trace context a client put in an event’s metadata', async () => {
    exporter.reset();
    const own = '00-11111111111111111111111111111111-2222222222222222-01';
    await running.http.post('/streams/order-4', {
      events: [{ type: 'x.y', data: {}, metadata: { traceparent: own } }],
    });
    expect((await running.http.get('/streams/order-4')).body.events[0]!.metadata.traceparent).toBe(
      own,
    );
  });
});
