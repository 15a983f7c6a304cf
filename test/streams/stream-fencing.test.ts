// Two instances of one stream job over the same store (a supervisor restarting a process that
// was not dead) must not corrupt its output: the instance that claimed the job last commits,
// the other one's commit is refused with StreamJobFencedError and writes nothing, and the
// derived events are exactly those of a single run. With a lease, a second instance waits
// (or fails fast) while the first is alive, and takes over once the first stops or its lease
// runs out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidStreamDefinitionError,
  ManualClock,
  StreamJob,
  StreamJobFencedError,
  StreamJobLeasedError,
  arraySource,
  openBackend,
  storeSource,
  type Backend,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import {
  JOB,
  appendReadings,
  derivedEvents,
  pauseBeforeTransaction,
  readingCountsJob,
  singleRun,
} from './support/reading-counts.js';

const pg = await pgAvailable();
const READINGS = 300;
/** The claim, then four checkpoints: the sixth transaction is the fifth batch's commit. */
const FIFTH_COMMIT = 6;

type Kind = 'memory' | 'sqlite' | 'postgres';

/**
 * Two backends on one database, as two processes would open it (for memory, where a second
 * process has nothing to share, the same backend twice).
 */
async function openTwo(kind: Kind, cleanup: (() => Promise<void> | void)[]): Promise<Backend[]> {
  if (kind === 'memory') {
    const backend = await openBackend('memory:');
    cleanup.push(() => backend.close());
    return [backend, backend];
  }
  let open: () => Promise<Backend>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-stream-fencing-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    open = () => openBackend(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 10 });
  } else {
    const schema = randomSchemaName();
    cleanup.push(() => dropSchema(schema));
    open = () => openBackend(pgUrl, { schema, maxConnections: 4 });
  }
  const first = await open();
  cleanup.push(() => first.close());
  const second = await open();
  cleanup.push(() => second.close());
  return [first, second];
}

for (const kind of ['memory', 'sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !pg)(`stream job fencing (${kind})`, () => {
    const cleanup: (() => Promise<void> | void)[] = [];
    const stops: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
      for (const step of cleanup.splice(0).reverse()) await step();
    });
    const track = <J extends { stop(): Promise<void> }>(job: J): J => {
      stops.push(() => job.stop());
      return job;
    };
    /** `pauseBeforeTransaction`, resumed after the test whatever happens. */
    const paused: typeof pauseBeforeTransaction = (states, nth) => {
      const pausing = pauseBeforeTransaction(states, nth);
      stops.push(() => Promise.resolve(pausing.resume()));
      return pausing;
    };

    it('two instances: the one started last takes over, the first one’s late commit is refused, and the output is a single run’s', async () => {
      const [a, b] = await openTwo(kind, cleanup);
      await appendReadings(a!.store, READINGS);
      const pausing = paused(await a!.streamStateStore(), FIFTH_COMMIT);
      const first = track(readingCountsJob(a!.store, pausing.states, { owner: 'first' }));
      const firstRun = first.run().then(
        () => undefined,
        (error: unknown) => error,
      );
      // Paused with the fifth batch processed and not committed.
      await pausing.paused;
      expect(first.status()).toMatchObject({ state: 'running', epoch: 1, checkpoints: 4 });

      const second = track(
        readingCountsJob(b!.store, await b!.streamStateStore(), { owner: 'second' }),
      );
      await second.run();
      expect(second.status()).toMatchObject({ state: 'stopped', epoch: 2 });

      pausing.resume();
      const error = await firstRun;
      expect(error).toBeInstanceOf(StreamJobFencedError);
      expect(error).toMatchObject({
        job: JOB,
        epoch: 1,
        current: { epoch: 2, owner: 'second' },
      });
      expect(first.status()).toMatchObject({ state: 'failed', checkpoints: 4 });
      expect(first.status().error).toBe(error);

      const expected = await singleRun(READINGS);
      expect(expected.length).toBeGreaterThan(20);
      expect(await derivedEvents(a!.store)).toEqual(expected);
      expect((await (await a!.streamStateStore()).load(JOB))?.epoch).toBe(2);
    });

    it('with a lease, a second instance fails fast or waits while the first runs, and takes over when it stops', async () => {
      const [a, b] = await openTwo(kind, cleanup);
      await appendReadings(a!.store, READINGS);
      const leasesA = (await a!.subscriptionStorage()).leases;
      const leasesB = (await b!.subscriptionStorage()).leases;
      const pausing = paused(await a!.streamStateStore(), FIFTH_COMMIT);
      const first = track(
        readingCountsJob(a!.store, pausing.states, {
          owner: 'first',
          lease: { leases: leasesA, ttlMs: 600_000 },
        }),
      );
      const firstRun = first.run();
      await pausing.paused;

      const impatient = track(
        readingCountsJob(b!.store, await b!.streamStateStore(), {
          owner: 'impatient',
          lease: { leases: leasesB },
        }),
      );
      const refused = await impatient.start().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(StreamJobLeasedError);
      expect(refused).toMatchObject({ job: JOB, owner: 'first' });
      expect(impatient.status()).toMatchObject({ state: 'failed', epoch: undefined });

      const patient = track(
        readingCountsJob(b!.store, await b!.streamStateStore(), {
          owner: 'patient',
          lease: { leases: leasesB, wait: true, retryIntervalMs: 5 },
        }),
      );
      const patientRun = patient.run();
      await expect
        .poll(() => patient.status().state, { timeout: 10_000 })
        .toBe('waiting-for-lease');
      expect(patient.status().leaseHolder?.owner).toBe('first');
      // Waiting, it has claimed nothing: the first instance commits on.
      pausing.resume();
      await firstRun;
      expect(first.status()).toMatchObject({ state: 'stopped', epoch: 1 });
      await patientRun;
      expect(patient.status()).toMatchObject({ state: 'stopped', epoch: 2 });
      expect(patient.status().committedPosition).toBe(first.status().committedPosition);
      expect(await derivedEvents(a!.store)).toEqual(await singleRun(READINGS));
      // Both let the lease go when they stopped.
      expect(await leasesA.get(`stream-job:${JOB}`)).toBeUndefined();
    });

    it('a lease that ran out while its holder was paused mid-batch: a second instance takes over, and the first one’s late commit is refused', async () => {
      const [a, b] = await openTwo(kind, cleanup);
      await appendReadings(a!.store, READINGS);
      const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
      const ttlMs = 600_000;
      const pausing = paused(await a!.streamStateStore(), FIFTH_COMMIT);
      const first = track(
        readingCountsJob(a!.store, pausing.states, {
          owner: 'first',
          clock,
          lease: { leases: (await a!.subscriptionStorage()).leases, ttlMs },
        }),
      );
      const firstRun = first.run().then(
        () => undefined,
        (error: unknown) => error,
      );
      await pausing.paused;

      const leasesB = (await b!.subscriptionStorage()).leases;
      const second = track(
        readingCountsJob(b!.store, await b!.streamStateStore(), {
          owner: 'second',
          clock,
          lease: { leases: leasesB, ttlMs },
        }),
      );
      // The first one's lease is good until it runs out.
      await expect(second.start()).rejects.toThrow(StreamJobLeasedError);
      clock.advance(ttlMs);
      await second.run();
      expect(second.status()).toMatchObject({ state: 'stopped', epoch: 2 });

      pausing.resume();
      const error = await firstRun;
      expect(error).toBeInstanceOf(StreamJobFencedError);
      expect(error).toMatchObject({ epoch: 1, current: { epoch: 2, owner: 'second' } });
      expect(first.status().state).toBe('failed');
      expect(await derivedEvents(a!.store)).toEqual(await singleRun(READINGS));
    });
  });
}

describe('stream job fencing options', () => {
  it('a lease needs checkpoints, and a lease store', async () => {
    const backend = await openBackend('memory:');
    try {
      const leases = (await backend.subscriptionStorage()).leases;
      expect(
        () => new StreamJob({ name: 'j', source: arraySource([]), lease: { leases } }),
      ).toThrow(InvalidStreamDefinitionError);
      const checkpoints = await backend.streamStateStore();
      expect(
        () =>
          new StreamJob({
            name: 'j',
            source: arraySource([]),
            checkpoints,
            lease: { leases: {} as typeof leases },
          }),
      ).toThrow(InvalidStreamDefinitionError);
      expect(
        () =>
          new StreamJob({
            name: 'j',
            source: arraySource([]),
            checkpoints,
            lease: { leases, ttlMs: 0 },
          }),
      ).toThrow(InvalidStreamDefinitionError);
      expect(
        () =>
          new StreamJob({
            name: 'x'.repeat(200),
            source: arraySource([]),
            checkpoints,
            lease: { leases },
          }),
      ).toThrow(InvalidStreamDefinitionError);
    } finally {
      await backend.close();
    }
  });

  it('an instance whose lease another one took stops with StreamJobFencedError', async () => {
    const backend = await openBackend('memory:');
    try {
      const leases = (await backend.subscriptionStorage()).leases;
      const clock = new ManualClock(1_000_000);
      const job = readingCountsJob(backend.store, await backend.streamStateStore(), {
        owner: 'first',
        clock,
        source: storeSource(backend.store, { live: true }),
        lease: { leases, ttlMs: 30 },
      });
      await job.start();
      expect(job.status()).toMatchObject({ state: 'running', epoch: 1 });
      clock.advance(30);
      expect(await leases.acquire(`stream-job:${JOB}`, 'second', 30, clock.now())).toMatchObject({
        acquired: true,
      });
      // Its next renewal (every 10 ms) finds the lease gone.
      await expect.poll(() => job.status().state, { timeout: 10_000 }).toBe('failed');
      expect(job.status().error).toBeInstanceOf(StreamJobFencedError);
      await job.stop();
    } finally {
      await backend.close();
    }
  });

  it('a job stopped while it waits for the lease stops waiting, having claimed nothing', async () => {
    const backend = await openBackend('memory:');
    try {
      const leases = (await backend.subscriptionStorage()).leases;
      const checkpoints = await backend.streamStateStore();
      await leases.acquire(`stream-job:${JOB}`, 'someone', 600_000, Date.now());
      const job = readingCountsJob(backend.store, checkpoints, {
        owner: 'waiting',
        lease: { leases, wait: true, retryIntervalMs: 5 },
      });
      const started = job.start();
      await expect.poll(() => job.status().state, { timeout: 10_000 }).toBe('waiting-for-lease');
      await job.stop();
      await started;
      expect(job.status()).toMatchObject({ state: 'stopped', epoch: undefined });
      expect(await checkpoints.claim(JOB, 'next')).toBe(1);
    } finally {
      await backend.close();
    }
  });
});
