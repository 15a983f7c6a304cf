import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type EventStore, partitionOf } from '@causewayjs/core';
import { LineMember, splitLine, until as waitUntil } from '../support/member-processes.js';
import { dropSchema, pgAvailable, randomSchemaName } from '../support/postgres.js';
import { openGroupBackend } from './group-backend.js';

const workerScript = fileURLToPath(new URL('./group-worker.ts', import.meta.url));

const PARTITIONS = 8;
/** Member and lease expiry: short, so the test is quick. */
const TTL_MS = 2000;
const HEARTBEAT_MS = 100;
const STREAMS = 60;

/** A member's view, as its process printed it. */
interface View {
  t: number;
  state: string;
  members: string[];
  assigned: number[];
  running: number[];
}

/** A member in a child process, and what it has printed so far. */
class Worker extends LineMember {
  view: View | undefined;
  written = 0;

  constructor(
    readonly id: string,
    kind: 'sqlite' | 'postgres',
    location: string,
  ) {
    super(workerScript, [
      kind,
      location,
      id,
      String(PARTITIONS),
      String(TTL_MS),
      String(HEARTBEAT_MS),
      '1',
    ]);
  }

  protected onLine(line: string): void {
    const { what, rest } = splitLine(line);
    if (what === 'status') this.view = JSON.parse(rest) as View;
    else if (what === 'written') this.written = Number(rest);
  }

  /** Running exactly its assigned partitions, in a group of `members`. */
  settledAmong(members: string[]): boolean {
    const v = this.view;
    return (
      v !== undefined &&
      v.state === 'running' &&
      v.members.join() === members.join() &&
      v.running.join() === v.assigned.join()
    );
  }
}

/** Resolves once `check` holds, polling; fails after `timeoutMs` naming `what`. */
const until = (
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  workers: Worker[] = [],
): Promise<void> =>
  waitUntil(check, {
    what,
    timeoutMs,
    everyMs: 5,
    detail: () => workers.map((w) => `${w.id}: ${JSON.stringify(w.view)} ${w.stderr}`).join('\n'),
  });

/** Every partition, run once between `workers`. */
function covered(workers: Worker[]): boolean {
  const running = workers.flatMap((w) => w.view?.running ?? []).sort((a, b) => a - b);
  return running.join() === Array.from({ length: PARTITIONS }, (_, i) => i).join();
}

/** Appends `count` events over the test's streams, ten streams per append. */
async function appendEvents(store: EventStore, count: number): Promise<void> {
  const head = await store.headPosition();
  for (let i = head; i < head + count; i += 10) {
    await store.appendMany(
      Array.from({ length: 10 }, (_, j) => ({
        stream: `account-${(i + j) % STREAMS}`,
        events: [{ type: 'money.moved', data: { n: i + j } }],
      })),
    );
  }
}

/**
 * Three processes share a group over a few thousand events across many streams; one is
 * SIGKILLed mid-batch. Every event must be handled with its effect exactly once, each
 * stream's effects in revision order, and the survivors must run the dead member's
 * partitions: each taken over once, the victim's effects in it all before the survivor's.
 */
async function killOneOfThree(kind: 'sqlite' | 'postgres', location: string): Promise<void> {
  const parent = await openGroupBackend(kind, location);
  const workers: Worker[] = [];
  try {
    await parent.setup();
    await appendEvents(parent.store, 1500);
    workers.push(
      ...['worker-1', 'worker-2', 'worker-3'].map((id) => new Worker(id, kind, location)),
    );
    const ids = workers.map((w) => w.id);
    await until(
      () => workers.every((w) => w.settledAmong(ids)) && covered(workers),
      'three balanced members',
      // Starting three child processes through tsx takes many seconds on a busy runner.
      120_000,
      workers,
    );
    for (const w of workers) expect(w.view?.assigned.length).toBeGreaterThanOrEqual(2);

    // More events arrive while the group works and loses a member.
    const writing = appendEvents(parent.store, 1500);
    const [first, victim, third] = workers as [Worker, Worker, Worker];
    await until(() => victim.written >= 150, 'the victim to be mid-way', 30_000, workers);
    const victimPartitions = victim.view?.assigned ?? [];
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');

    const survivors = [first, third];
    await until(
      () => survivors.every((w) => w.settledAmong([first.id, third.id])) && covered(survivors),
      'the survivors to take over',
      TTL_MS * 10,
      survivors,
    );
    // The dead member's partitions changed hands: each now runs in exactly one survivor.
    for (const p of victimPartitions)
      expect(
        survivors.filter((w) => w.view?.running.includes(p)),
        `partition ${p}`,
      ).toHaveLength(1);
    for (const w of survivors) expect(w.view?.assigned).toHaveLength(PARTITIONS / 2);

    await writing;
    const head = await parent.store.headPosition();
    await until(
      async () => (await parent.count()) >= head,
      'every event handled',
      60_000,
      survivors,
    );
    for (const w of survivors) w.child.kill('SIGTERM');
    for (const w of survivors) expect(await w.exited).toEqual({ code: 0, signal: null });

    const rows = await parent.rows();
    // Every event once: the unique position refuses a second row, and none is missing.
    expect(rows.map((r) => r.position).sort((a, b) => a - b)).toEqual(
      Array.from({ length: head }, (_, i) => i + 1),
    );
    // Per-stream order: in write order, each stream's revisions run 0, 1, 2, ...
    const revisions = new Map<string, number[]>();
    for (const row of rows) {
      const list = revisions.get(row.stream) ?? [];
      list.push(row.revision);
      revisions.set(row.stream, list);
    }
    expect(revisions.size).toBe(STREAMS);
    for (const [stream, list] of revisions)
      expect(list, stream).toEqual(Array.from({ length: list.length }, (_, i) => i));
    // The victim's partitions: it committed some, the survivors the rest.
    const inVictims = rows.filter((r) =>
      victimPartitions.includes(partitionOf(r.stream, PARTITIONS)),
    );
    expect(inVictims.some((r) => r.member === victim.id)).toBe(true);
    expect(inVictims.some((r) => r.member !== victim.id)).toBe(true);
    // Handed over once: in each of its partitions, in log order, from the victim's first effect
    // on, the victim's effects all come before the survivor's, which is what a fenced lease
    // allows and an overlap would break. (Effects before that are the first member's, which
    // ran every partition while the others were still starting.)
    for (const p of victimPartitions) {
      const owners = rows
        .filter((r) => partitionOf(r.stream, PARTITIONS) === p)
        .sort((a, b) => a.position - b.position)
        .map((r) => (r.member === victim.id ? 'victim' : 'survivor'));
      const since = owners.slice(Math.max(0, owners.indexOf('victim')));
      expect(since.indexOf('survivor'), `partition ${p}`).toBeGreaterThan(-1);
      expect(since.lastIndexOf('victim'), `partition ${p}`).toBeLessThan(since.indexOf('survivor'));
    }
    expect(await parent.parkedCount(PARTITIONS)).toBe(0);
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await parent.close();
  }
}

describe('consumer group of 3 processes, one killed mid-way', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-group-processes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'PostgreSQL: every event handled once, per-stream order held, its partitions handed over once',
    { timeout: 240_000 },
    async (ctx) => {
      if (!(await pgAvailable())) ctx.skip();
      const schema = randomSchemaName();
      try {
        await killOneOfThree('postgres', schema);
      } finally {
        await dropSchema(schema);
      }
    },
  );

  it(
    'SQLite: every event handled once, per-stream order held, its partitions handed over once',
    { timeout: 240_000 },
    async () => {
      await killOneOfThree('sqlite', join(dir, 'events.db'));
    },
  );
});
