import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => provider.register());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

describe('bus spans', () => {
  it('publishes and consumes in spans that continue the trace of the event', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentSpanId = 'b7ad6b7169203331';
    const traceparent = `00-${traceId}-${parentSpanId}-01`;
    const bus = new InProcessBus({ prefix: 'traced' });
    let inHandler: string | undefined;
    const member = await bus.subscribe({
      group: 'tracer',
      handler: () => {
        inHandler = trace.getActiveSpan()?.spanContext().traceId;
      },
    });
    const event = busEvent('order-1', 'order.placed', {}, { traceparent });
    await bus.publish(event);
    await eventually(() => member.status().handled === 1, 'the delivery');
    await member.stop();
    await bus.close();
    const spans = exporter.getFinishedSpans();
    const publish = spans.find((s) => s.name === 'causeway.bus.publish');
    const consume = spans.find((s) => s.name === 'causeway.bus.consume');
    expect(publish?.spanContext().traceId).toBe(traceId);
    expect(publish?.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(consume?.spanContext().traceId).toBe(traceId);
    expect(consume?.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(consume?.attributes).toMatchObject({
      'messaging.destination.name': 'order.order.placed',
      'messaging.consumer.group.name': 'tracer',
      'messaging.message.id': event.id,
    });
    expect(inHandler).toBe(traceId);
  });

  it('records a failing delivery as an error on its span', async () => {
    exporter.reset();
    const bus = new InProcessBus();
    const member = await bus.subscribe({
      group: 'failing',
      maxDeliveries: 1,
      handler: () => {
        throw new Error('boom');
      },
    });
    await bus.publish(busEvent('order-1', 'order.placed'));
    await eventually(() => member.status().parked === 1, 'the parking');
    await member.stop();
    await bus.close();
    const consume = exporter.getFinishedSpans().find((s) => s.name === 'causeway.bus.consume');
    expect(consume?.status).toMatchObject({ code: 2, message: 'boom' });
  });
});
