import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ROOT_CONTEXT,
  context,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTraceContext, tracingActive, withSpan } from './tracing.js';

/** A context manager and no tracer provider: trace context flows, no span is recorded. */
class StorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

const CARRIED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OUTER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('withSpan with no SDK registered', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new StorageContextManager());
  });
  afterAll(() => {
    context.disable();
  });

  it('is the case here: no tracer provider records', () => {
    expect(tracingActive()).toBe(false);
  });

  it('runs the work in the carried parent context, so what it sends carries that trace', async () => {
    const inside = await withSpan('step', { parent: { traceparent: CARRIED } }, async (span) => {
      await Promise.resolve();
      return { fields: currentTraceContext(), recording: span.isRecording() };
    });
    expect(inside).toEqual({ fields: { traceparent: CARRIED }, recording: false });
  });

  it('keeps the active context when nothing is carried, or the carrier holds no trace', async () => {
    const outer = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: OUTER.slice(3, 35),
      spanId: OUTER.slice(36, 52),
      traceFlags: 1,
      isRemote: true,
    });
    const seen = await context.with(outer, () =>
      Promise.all([
        withSpan('a', {}, () => Promise.resolve(currentTraceContext().traceparent)),
        withSpan('b', { parent: { correlationId: 'x' } }, () =>
          Promise.resolve(currentTraceContext().traceparent),
        ),
      ]),
    );
    expect(seen).toEqual([OUTER, OUTER]);
  });

  it('passes the work’s failure on as it is', async () => {
    const failure = new Error('boom');
    await expect(
      withSpan('failing', { parent: { traceparent: CARRIED } }, () => Promise.reject(failure)),
    ).rejects.toBe(failure);
    // A synchronous throw is a rejection, of the value thrown, as through a recording span.
    await expect(
      withSpan('throwing a string', {}, () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'not an error';
      }),
    ).rejects.toBe('not an error');
    await expect(
      withSpan('throwing', {}, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });
});
