import { context, propagation, trace } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  OutboxRelay,
  type BusSubscription,
  newId,
  openMemoryBackend,
  InProcessCommandDispatcher,
} from '@causewayjs/core';
import {
  instrumentEventStore,
  createLogger,
  CAUSEWAY_VERSION,
  TRACER_NAME,
  currentTraceContext,
  withSpan,
} from '@causewayjs/core/internals';
import { createServer } from '@causewayjs/server';
import { openStoreContext } from '@causewayjs/cli';
import { startShop } from '../../examples/shop/start-shop.js';
import {
  connectNats,
  deleteNatsStream,
  natsAvailable,
  natsUrl,
  randomNatsName,
} from '../support/nats.js';

const available = await natsAvailable();

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() =>
  provider.register({
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  }),
);
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

const HOST_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const HOST_SPAN = '00f067aa0ba902b7';

function one(spans: readonly ReadableSpan[], name: string, where?: (s: ReadableSpan) => boolean) {
  const found = spans.filter((s) => s.name === name && (where ? where(s) : true));
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
}

describe.skipIf(!available)('one trace from an HTTP request to the event a command wrote', () => {
  it('follows HTTP → append → outbox relay → NATS → process manager → command → event', async () => {
    exporter.reset();
    const backend = openMemoryBackend();
    const store = instrumentEventStore(backend.store);
    const storage = await backend.withStore(store).subscriptionStorage();
    const name = randomNatsName('TP');
    const bus = await NatsMessageBus.connect(natsUrl, {
      stream: name,
      prefix: name.toLowerCase(),
    });
    const relay = new OutboxRelay({ name: 'traced-relay', storage, bus, lease: false });
    const server = await createServer({ store, adminUi: false, statsSampleMs: 0 });
    // The process manager: on order.placed it sends payment.authorize, in the consume span.
    const dispatcher = new InProcessCommandDispatcher().register(
      'payment.authorize',
      async (command) => {
        const r = await store.append('payment-1', [
          { type: 'payment.authorized', data: {}, metadata: { causationId: command.id } },
        ]);
        return { status: 'accepted', stream: r.stream, revision: r.revision };
      },
    );
    let member: BusSubscription | undefined;
    try {
      member = await bus.subscribe({
        group: 'payments',
        handler: async (event) => {
          if (event.type !== 'order.placed') return;
          await dispatcher.dispatch({
            id: newId(),
            type: 'payment.authorize',
            data: {},
            metadata: { causationId: event.id, ...currentTraceContext() },
          });
        },
      });
      await relay.start();

      const reply = await server.app.inject({
        method: 'POST',
        url: '/streams/order-1',
        headers: {
          'content-type': 'application/json',
          traceparent: `00-${HOST_TRACE}-${HOST_SPAN}-01`,
          tracestate: 'vendor=abc',
          baggage: 'tenant.tier=gold',
        },
        payload: { events: [{ type: 'order.placed', data: { total: 10 } }] },
      });
      expect(reply.statusCode).toBe(201);

      const first = async (stream: string) => {
        for await (const e of store.readStream(stream)) return e;
        return undefined;
      };
      let written: Awaited<ReturnType<typeof first>> = undefined;
      await vi.waitFor(
        async () => {
          written = await first('payment-1');
          expect(written).toBeDefined();
        },
        { timeout: 15_000, interval: 50 },
      );
      const payment = written!;
      const order = await first('order-1');
      // Both events go through the relay and NATS: wait for both to be consumed.
      const byMessage = (name: string, id: string) => (s: ReadableSpan) =>
        s.name === name && s.attributes['messaging.message.id'] === id;
      await vi.waitFor(
        () => {
          const finished = exporter.getFinishedSpans();
          for (const id of [order!.id, payment.id])
            expect(finished.some(byMessage('causeway.bus.consume', id)), id).toBe(true);
        },
        { timeout: 10_000, interval: 50 },
      );
      const spans = exporter.getFinishedSpans();

      // One trace, the host's.
      expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([HOST_TRACE]));
      const http = one(spans, 'causeway.http.request');
      const appends = spans.filter((s) => s.name === 'causeway.store.append');
      const orderAppend = appends.find((s) => s.attributes['causeway.stream'] === 'order-1')!;
      const paymentAppend = appends.find((s) => s.attributes['causeway.stream'] === 'payment-1')!;
      const publish = one(
        spans,
        'causeway.bus.publish',
        byMessage('causeway.bus.publish', order!.id),
      );
      const consume = one(
        spans,
        'causeway.bus.consume',
        byMessage('causeway.bus.consume', order!.id),
      );
      const dispatch = one(spans, 'causeway.command.dispatch');
      const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

      // The parent links, in order.
      expect(parentOf(http)).toBe(HOST_SPAN);
      expect(parentOf(orderAppend)).toBe(http.spanContext().spanId);
      expect(parentOf(publish)).toBe(orderAppend.spanContext().spanId);
      expect(parentOf(consume)).toBe(publish.spanContext().spanId);
      expect(parentOf(dispatch)).toBe(consume.spanContext().spanId);
      expect(parentOf(paymentAppend)).toBe(dispatch.spanContext().spanId);
      // The event the command wrote carries the context of the append that wrote it.
      expect(payment.metadata.traceparent).toBe(
        `00-${HOST_TRACE}-${paymentAppend.spanContext().spanId}-01`,
      );
      expect(payment.metadata.tracestate).toBe('vendor=abc');
      expect(payment.metadata.baggage).toBe('tenant.tier=gold');
      expect(order!.metadata).toMatchObject({
        traceparent: `00-${HOST_TRACE}-${orderAppend.spanContext().spanId}-01`,
        tracestate: 'vendor=abc',
        baggage: 'tenant.tier=gold',
      });

      // Attributes by the conventions, and Causeway's instrumentation scope.
      expect(http.attributes).toMatchObject({
        'http.request.method': 'POST',
        'http.route': '/streams/:stream',
        'http.response.status_code': 201,
      });
      expect(publish.attributes).toMatchObject({
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': `${name.toLowerCase()}.order.order.placed`,
        'messaging.message.id': order!.id,
      });
      expect(consume.attributes).toMatchObject({
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': 'order.order.placed',
        'messaging.consumer.group.name': 'payments',
        'messaging.message.id': order!.id,
      });
      for (const s of [http, orderAppend, publish, consume, dispatch, paymentAppend])
        expect(s.instrumentationScope).toMatchObject({
          name: TRACER_NAME,
          version: CAUSEWAY_VERSION,
        });
    } finally {
      await member?.stop();
      await relay.stop();
      await server.close();
      await bus.close();
      const nc = await connectNats();
      await deleteNatsStream(nc, name);
      await nc.close();
      await backend.close();
    }
  }, 30_000);
});

describe.skipIf(!available)(
  'one trace through the shop: HTTP → append → saga → command over NATS → event',
  () => {
    it('joins the relay publish, the saga step, the command handled over NATS and the events it wrote', async () => {
      exporter.reset();
      const context = await openStoreContext('memory:');
      const name = randomNatsName('TS');
      const shop = await startShop({
        context,
        port: 0,
        bus: natsUrl,
        busStream: name,
        busPrefix: name.toLowerCase(),
        busCommandNamespace: name.toLowerCase(),
        paymentFailureRate: 0,
      });
      try {
        const reply = await fetch(`${shop.url!}streams/order-t1`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            traceparent: `00-${HOST_TRACE}-${HOST_SPAN}-01`,
            baggage: 'tenant.tier=gold',
          },
          body: JSON.stringify({
            events: [
              {
                type: 'order.placed',
                data: {
                  customerId: 'c-1',
                  lines: [{ line: 1, sku: 'tea-sencha', quantity: 1, unitPrice: 890 }],
                },
              },
            ],
          }),
        });
        expect(reply.status).toBe(201);
        // The saga reserves stock: a command over NATS whose handler writes stock.reserved.
        const reserved = async () => {
          for await (const e of context.store.readAll({ filter: { types: ['stock.reserved'] } }))
            return e;
          return undefined;
        };
        let stock: Awaited<ReturnType<typeof reserved>>;
        await vi.waitFor(
          async () => {
            stock = await reserved();
            expect(stock).toBeDefined();
          },
          { timeout: 20_000, interval: 50 },
        );
        let order: Awaited<ReturnType<typeof reserved>>;
        for await (const e of context.store.readStream('order-t1', { limit: 1 })) order = e;
        await vi.waitFor(
          () =>
            expect(
              exporter
                .getFinishedSpans()
                .some(
                  (s) =>
                    s.name === 'causeway.bus.publish' &&
                    s.attributes['messaging.message.id'] === order!.id,
                ),
            ).toBe(true),
          { timeout: 10_000, interval: 50 },
        );
        const spans = exporter
          .getFinishedSpans()
          .filter((s) => s.spanContext().traceId === HOST_TRACE);
        const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
        const ancestors = (span: ReadableSpan) => {
          const names: string[] = [];
          for (
            let p = byId.get(span.parentSpanContext?.spanId ?? '');
            p;
            p = byId.get(p.parentSpanContext?.spanId ?? '')
          )
            names.push(p.name);
          return names;
        };
        const orderAppend = one(
          spans,
          'causeway.store.append',
          (s) =>
            s.attributes['causeway.stream'] === 'order-t1' &&
            s.attributes['causeway.position'] === order!.position,
        );
        expect(order!.metadata.traceparent).toBe(
          `00-${HOST_TRACE}-${orderAppend.spanContext().spanId}-01`,
        );
        expect(order!.metadata.baggage).toBe('tenant.tier=gold');
        const publish = one(
          spans,
          'causeway.bus.publish',
          (s) => s.attributes['messaging.message.id'] === order!.id,
        );
        expect(publish.parentSpanContext?.spanId).toBe(orderAppend.spanContext().spanId);
        const step = one(
          spans,
          'causeway.saga.step',
          (s) => s.attributes['causeway.event.id'] === order!.id,
        );
        expect(step.parentSpanContext?.spanId).toBe(orderAppend.spanContext().spanId);
        // The event the command wrote carries its command's span (the handler stamps its own),
        // which descends from the saga step through the command answered over NATS.
        const [, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/
          .exec(stock!.metadata.traceparent!)!
          .slice(1);
        expect(stock!.metadata.traceparent!.slice(3, 35)).toBe(HOST_TRACE);
        const handled = byId.get(spanId!)!;
        expect(handled.name).toBe('causeway.command.handle');
        expect(ancestors(handled)).toEqual(
          expect.arrayContaining([
            'causeway.bus.command.handle',
            'causeway.saga.step',
            'causeway.store.append',
            'causeway.http.request',
          ]),
        );
        expect(stock!.metadata.baggage).toBe('tenant.tier=gold');
      } finally {
        await shop.stop();
        await context.close();
        const nc = await connectNats();
        await deleteNatsStream(nc, name);
        await nc.close();
      }
    }, 40_000);
  },
);

describe('trace context helpers', () => {
  it('adds trace_id and span_id of the active span to log lines', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ destination });
    let ids: { traceId: string; spanId: string } | undefined;
    await withSpan('logged', {}, (span) => {
      ids = span.spanContext();
      logger.info('inside');
      return Promise.resolve();
    });
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ trace_id: ids!.traceId, span_id: ids!.spanId });
    expect(outside).not.toHaveProperty('trace_id');
  });

  it('keeps the version of the instrumentation scope equal to the package version', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile('packages/core/package.json', 'utf8')) as {
      version: string;
    };
    expect(CAUSEWAY_VERSION).toBe(pkg.version);
  });

  it('writes W3C traceparent, tracestate and baggage when the host registered no propagator, and keeps a host propagator', async () => {
    propagation.disable(); // no global propagator: the API's no-op
    try {
      const carrier = {
        traceparent: `00-${HOST_TRACE}-${HOST_SPAN}-01`,
        tracestate: 'vendor=abc',
        baggage: 'k=v',
      };
      const fields = await withSpan('child', { parent: carrier }, () =>
        Promise.resolve(currentTraceContext()),
      );
      expect(fields.traceparent).toMatch(new RegExp(`^00-${HOST_TRACE}-[0-9a-f]{16}-01$`));
      expect(fields).toMatchObject({ tracestate: 'vendor=abc', baggage: 'k=v' });
      // Causeway never registered one of its own.
      expect(propagation.fields()).toEqual([]);
      // A host's propagator is used as it is (here: trace context only, no baggage).
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      const hosts = await withSpan('child', { parent: carrier }, () =>
        Promise.resolve(currentTraceContext()),
      );
      expect(Object.keys(hosts).sort()).toEqual(['traceparent', 'tracestate']);
    } finally {
      propagation.disable();
      propagation.setGlobalPropagator(
        new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
      );
    }
  });
});
