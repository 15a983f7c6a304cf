import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnMemberProcess } from '../support/member-processes.js';
import { dropSchema, pgAvailable, randomSchemaName } from '../support/postgres.js';
import {
  PARTITIONS,
  checkRun,
  declined,
  ended,
  openSchema,
  placeOrders,
} from '../sagas/partitioned-saga-scenario.js';

const worker = fileURLToPath(new URL('../sagas/partitioned-saga-member.ts', import.meta.url));
const ORDERS = 60;
const available = await pgAvailable();

/** A member process and its latest share of the partitions (as it last reported it). */
interface Member {
  child: ChildProcess;
  assigned: () => string;
}

/** A member process: resolves once it reports `ready`. */
function member(schema: string, id: string): Promise<Member> {
  let assigned = '';
  return new Promise((resolve, reject) => {
    const m = spawnMemberProcess({
      script: worker,
      args: [schema, id],
      onLine: (line) => {
        if (line === 'ready') resolve({ child: m.child, assigned: () => assigned });
        else if (line.startsWith('assigned ')) assigned = line.slice('assigned '.length);
      },
    });
    void m.exited.then(({ code, signal }) =>
      reject(new Error(`${id} ended (${code ?? signal}): ${m.stderr}`)),
    );
  });
}

function stopped(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

describe.skipIf(!available)(
  'a partitioned saga when a member process is killed (PostgreSQL)',
  () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    it('completes every order exactly once on the members left, in order per instance', async () => {
      const schema = randomSchemaName();
      cleanup.push(() => dropSchema(schema));
      const main = await openSchema(schema);
      cleanup.push(() => main.close());
      // member-0 first: it takes the outbox and timer leases, so killing it also moves those.
      const members: Member[] = [];
      for (const id of ['member-0', 'member-1', 'member-2']) {
        const m = await member(schema, id);
        cleanup.push(() => stopped(m.child, 'SIGTERM'));
        members.push(m);
      }
      await expect
        .poll(() => members.map((m) => m.assigned().split(',').filter(Boolean).length).join(' '), {
          timeout: 30_000,
        })
        .toMatch(/^[23] [23] [23]$/);
      const victim = members[0] as Member;
      const placing = placeOrders(main, ORDERS);
      // Killed mid-run: some orders ended, most not.
      await expect
        .poll(() => ended(main), { timeout: 60_000, interval: 20 })
        .toBeGreaterThanOrEqual(5);
      await stopped(victim.child, 'SIGKILL');
      const atKill = await ended(main);
      await placing;
      expect(atKill).toBeLessThan(ORDERS);
      // The two left share the victim's partitions once its heartbeat expires...
      await expect
        .poll(
          () =>
            members
              .slice(1)
              .map((m) => m.assigned().split(',').filter(Boolean).length)
              .reduce((a, b) => a + b, 0),
          { timeout: 30_000 },
        )
        .toBe(PARTITIONS);
      // ...and every order ends: 0 lost.
      await expect.poll(() => ended(main), { timeout: 120_000, interval: 200 }).toBe(ORDERS);
      // 0 duplicated effects, every command sent, per-instance order kept (checkRun throws).
      const outcomes = await checkRun(main, ORDERS);
      for (const [i, outcome] of outcomes.entries())
        expect(outcome.status).toBe(declined(i) ? 'compensated' : 'completed');
    }, 300_000);
  },
);
