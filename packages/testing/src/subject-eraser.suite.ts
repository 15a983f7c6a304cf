import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  StreamJobFencedError,
  collect,
  type Backend,
  type SagaInstanceRecord,
  type SubjectEraser,
} from '@causewayjs/core';

/** How the subject-eraser suite reaches one adapter. */
export interface SubjectEraserHarness {
  /** Opens a backend on a fresh database (the same one until `cleanup`). */
  open(): Promise<Backend>;
  /** Drops the database; called after every test, once the backend is closed. */
  cleanup(): Promise<void>;
}

const EMAIL = 'ada.lovelace@example.com';
const OTHER = 'grace.hopper@example.com';
const REDACTION = '[redacted]';

function sagaRecord(id: string, state: unknown): SagaInstanceRecord {
  return {
    saga: 'onboarding',
    id,
    status: 'running',
    step: 'welcoming',
    state,
    trail: ['welcoming'],
    lastPosition: 1,
    newHistory: [
      { at: '2026-01-01T00:00:00.000Z', kind: 'received', type: 'x', id: 'e1', detail: state },
    ],
    pendingCompensations: 0,
    failedCompensations: 0,
    startedAt: 0,
    updatedAt: 0,
  };
}

/**
 * A backend's {@link SubjectEraser} (`Backend.subjectEraser()`), run against every adapter
 * that offers one: a value is overwritten in the rows of every port (saga state and history,
 * stream-job state, parked events' errors), also inside longer texts, while other values and
 * the event log stay as they are; jobs whose checkpointed state it rewrote are fenced, the
 * others not; bad arguments are refused with `InvalidArgumentError`.
 */
export function describeSubjectEraserConformance(
  name: string,
  makeHarness: () => Promise<SubjectEraserHarness>,
): void {
  describe(`SubjectEraser conformance: ${name}`, () => {
    let harness: SubjectEraserHarness;
    let backend: Backend;
    let eraser: SubjectEraser;

    beforeEach(async () => {
      harness = await makeHarness();
      backend = await harness.open();
      const made = await backend.subjectEraser();
      if (!made) throw new Error(`the ${backend.kind} backend offers no subject eraser`);
      eraser = made;
    });

    afterEach(async () => {
      await backend.close();
      await harness.cleanup();
    });

    it("overwrites a value in every port's rows, and nothing else", async () => {
      const sagas = await backend.sagaStore();
      const states = await backend.streamStateStore();
      const storage = await backend.subscriptionStorage();
      const { position } = await backend.store.append('customer-1', [
        { type: 'customer.noted', data: { note: EMAIL } },
      ]);
      await backend.store.transaction(async (tx) => {
        await sagas.saveInstance(sagaRecord('c-1', { email: EMAIL, to: `Ada <${EMAIL}>` }), tx);
        await sagas.saveInstance(sagaRecord('c-2', { email: OTHER }), tx);
      });
      await states.save('latest', {
        position,
        watermark: null,
        state: JSON.stringify([EMAIL, OTHER]),
      });
      await storage.parked.park('mailer', {
        position,
        eventId: 'e1',
        stream: 'customer-1',
        type: 'customer.noted',
        reason: 'failed',
        error: { name: 'Error', message: `no mailbox for ${EMAIL}`, stack: `Error: ${EMAIL}` },
        attempts: 1,
        parkedAt: new Date(0),
      });

      expect(await eraser.eraseValues([EMAIL], REDACTION)).toBeGreaterThanOrEqual(3);

      expect((await sagas.loadInstance('onboarding', 'c-1'))?.state).toEqual({
        email: REDACTION,
        to: `Ada <${REDACTION}>`,
      });
      expect((await sagas.getInstance('onboarding', 'c-1'))?.history[0]?.detail).toEqual({
        email: REDACTION,
        to: `Ada <${REDACTION}>`,
      });
      expect((await sagas.loadInstance('onboarding', 'c-2'))?.state).toEqual({ email: OTHER });
      expect(JSON.parse((await states.load('latest'))?.state ?? 'null')).toEqual([
        REDACTION,
        OTHER,
      ]);
      const [parked] = await storage.parked.list('mailer');
      expect(parked?.error).toMatchObject({
        message: `no mailbox for ${REDACTION}`,
        stack: `Error: ${REDACTION}`,
      });
      // The log is never rewritten: personal fields there are ciphertext, and chains cover it.
      const [event] = await collect(backend.store.readStream('customer-1'));
      expect(event?.data).toEqual({ note: EMAIL });
    });

    it('fences the stream jobs whose state it rewrote, and only those', async () => {
      const states = await backend.streamStateStore();
      const holding = await states.claim('holding', 'one');
      const clean = await states.claim('clean', 'one');
      await states.save('holding', {
        position: 1,
        watermark: null,
        state: `"${EMAIL}"`,
        epoch: holding,
      });
      await states.save('clean', {
        position: 1,
        watermark: null,
        state: `"${OTHER}"`,
        epoch: clean,
      });

      await eraser.eraseValues([EMAIL], REDACTION);

      await expect(
        states.save('holding', {
          position: 2,
          watermark: null,
          state: `"${EMAIL}"`,
          epoch: holding,
        }),
      ).rejects.toBeInstanceOf(StreamJobFencedError);
      expect((await states.load('holding'))?.state).toBe(`"${REDACTION}"`);
      await states.save('clean', { position: 2, watermark: null, state: '"x"', epoch: clean });
    });

    it('refuses bad arguments, and erases nothing for no values', async () => {
      await expect(eraser.eraseValues([''], REDACTION)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(eraser.eraseValues('x' as never, REDACTION)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(eraser.eraseValues([EMAIL], 3 as never)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      expect(await eraser.eraseValues([], REDACTION)).toBe(0);
      // A value inside the replacement would be found again by every later erasure.
      expect(await eraser.eraseValues(['redact'], REDACTION)).toBe(0);
    });
  });
}
