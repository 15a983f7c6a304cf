// The projection `forget` hook: a projection that defines it is handed each
// `subject.forgotten` audit event in order with its own events, in batches too, and again by
// a rebuild; one without it never sees them.
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { SUBJECT_FORGOTTEN_EVENT } from '../security/subject-eraser.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import type { DocumentReadModel } from './document-read-model.js';
import { memoryProjectionStore } from './memory-projection-store.js';
import { defineProjection } from './projection.js';
import { Projector } from './projector.js';

const registered = (id: string, email: string) => ({
  type: 'customer.registered',
  data: { customerId: id, email },
});
const forgotten = (subject: string) => ({
  type: SUBJECT_FORGOTTEN_EVENT,
  data: { subject, keyDestroyed: true, forgottenAt: '2026-01-01T00:00:00.000Z' },
});

describe('projection forget hook', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('refuses a forget that is not a function', () => {
    expect(() =>
      defineProjection({
        name: 'p',
        version: 1,
        handles: ['a.b'],
        setup: () => undefined,
        apply: () => undefined,
        forget: 'yes' as never,
      }),
    ).toThrow(InvalidArgumentError);
  });

  it('hands each forget notice to the hook in order, in batches and in a rebuild', async () => {
    const applied: string[][] = [];
    const forgets: string[] = [];
    const directory = defineProjection<DocumentReadModel>({
      name: 'directory',
      version: 1,
      handles: ['customer.registered'],
      streamPrefix: 'customer-',
      setup: (rm) => void rm.collection(),
      apply: (event, rm) => {
        applied.push([event.type]);
        const { customerId, email } = event.data as { customerId: string; email: string };
        rm.collection<string>().put(customerId, email);
      },
      applyBatch: (events: readonly RecordedEvent[], rm) => {
        applied.push(events.map((e) => e.type));
        for (const event of events) {
          const { customerId, email } = event.data as { customerId: string; email: string };
          rm.collection<string>().put(customerId, email);
        }
      },
      forget: (subject, rm) => {
        forgets.push(subject);
        rm.collection<string>().delete(subject);
      },
    });
    const seenByPlain: string[] = [];
    const plain = defineProjection<DocumentReadModel>({
      name: 'plain',
      version: 1,
      handles: ['customer.registered'],
      setup: (rm) => void rm.collection(),
      apply: (event) => void seenByPlain.push(event.type),
    });
    const store = new MemoryEventStore();
    // Written before the projector starts, so the first build reads them in batches.
    await store.append('customer-1', [registered('c-1', 'ada@example.com')]);
    await store.append('customer-2', [registered('c-2', 'grace@example.com')]);
    await store.append('vendor-1', [registered('v-1', 'not-mine@example.com')]);
    await store.append('security-audit', [forgotten('c-1')]);
    await store.append('customer-3', [registered('c-3', 'alan@example.com')]);
    await store.append('customer-4', [registered('c-4', 'edsger@example.com')]);
    const { position } = await store.append('security-audit', [forgotten('c-3')]);
    const projector = new Projector({
      store: memoryProjectionStore(store),
      projections: [directory, plain],
      subscription: { batchSize: 100 },
    });
    cleanups.push(async () => {
      await projector.stop();
      await store.close();
    });
    await projector.start();
    await projector.waitFor('directory', position);
    await projector.waitFor('plain', position);

    const entries = async () =>
      (
        await projector.query('directory', (rm) => {
          const docs = rm.collection<string>();
          return docs.ids().map((id) => [id, docs.get(id)]);
        })
      ).data;
    expect(await entries()).toEqual([
      ['c-2', 'grace@example.com'],
      ['c-4', 'edsger@example.com'],
    ]);
    expect(forgets).toEqual(['c-1', 'c-3']);
    // The batch was applied around the notices; the vendor stream (outside the prefix) and
    // the notices never reached apply.
    expect(applied.flat()).toEqual(Array(4).fill('customer.registered'));
    expect(applied.some((run) => run.length > 1)).toBe(true);
    expect(seenByPlain).toEqual(Array(5).fill('customer.registered'));

    // A rebuild folds the log again and meets the same notices.
    await projector.rebuild('directory');
    await projector.switched('directory', { timeoutMs: 20_000 });
    expect(await entries()).toEqual([
      ['c-2', 'grace@example.com'],
      ['c-4', 'edsger@example.com'],
    ]);
    expect(forgets).toEqual(['c-1', 'c-3', 'c-1', 'c-3']);
  });
});
