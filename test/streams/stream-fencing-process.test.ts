// Two processes running one stream job over one SQLite file. The first freezes mid-run (it
// stops itself with SIGSTOP just before a commit, as a process in a long pause would); its
// lease runs out, the second process, waiting for the lease, takes the job over and finishes
// it; then the first is let go (SIGCONT): its late commit is refused and it exits with the
// fencing error. Or the first is SIGKILLed where it froze, and the second takes over once
// the dead one's lease has run out. Either way the derived events are a single run's.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { spawnMemberProcess } from '../support/member-processes.js';
import { appendReadings, derivedEvents, singleRun } from './support/reading-counts.js';

const worker = fileURLToPath(new URL('./support/fenced-stream-worker.ts', import.meta.url));
const READINGS = 300;
/** The claim, then four checkpoints: it freezes before its fifth batch's commit. */
const PAUSE_AT = 6;

interface Worker {
  child: ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  /** How it ended. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startWorker(file: string, owner: string, pauseAt?: number): Worker {
  const lines: string[] = [];
  const member = spawnMemberProcess({
    script: worker,
    args: [file, owner, ...(pauseAt === undefined ? [] : [String(pauseAt)])],
    onLine: (line) => lines.push(line),
  });
  const exit = member.exited.then((e) => ({ ...e, stderr: member.stderr }));
  return { child: member.child, lines, exit };
}

/** The epochs its commits were made under. */
const epochsOf = (w: Worker) =>
  new Set(w.lines.filter((l) => l.startsWith('commit ')).map((l) => l.split(' ')[2]));

describe('stream job fencing across processes (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-stream-fencing-process-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const workers: Worker[] = [];
  afterEach(() => {
    // A frozen worker must not outlive a failed test.
    for (const w of workers.splice(0)) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  });
  const start = (file: string, owner: string, pauseAt?: number) => {
    const w = startWorker(file, owner, pauseAt);
    workers.push(w);
    return w;
  };

  it('a frozen process whose lease ran out is taken over; let go, its commit is refused', async () => {
    const file = join(dir, 'frozen.db');
    const store = SqliteEventStore.open(file);
    try {
      await appendReadings(store, READINGS);
      const first = start(file, 'first', PAUSE_AT);
      await vi.waitFor(() => expect(first.lines).toContain('pausing'), { timeout: 30_000 });
      expect(first.lines.filter((l) => l.startsWith('commit '))).toHaveLength(4);

      // It waits for the frozen one's lease to run out, then runs the job to the end.
      const second = start(file, 'second');
      const secondExit = await second.exit;
      expect(secondExit).toMatchObject({ code: 0 });
      expect(second.lines).toContain('done');
      expect([...epochsOf(second)]).toEqual(['2']);

      first.child.kill('SIGCONT');
      const firstExit = await first.exit;
      expect(firstExit, firstExit.stderr).toMatchObject({ code: 3 });
      expect(first.lines).toContain('fenced');
      expect([...epochsOf(first)]).toEqual(['1']);
      expect(first.lines.filter((l) => l.startsWith('commit '))).toHaveLength(4);

      expect(await derivedEvents(store)).toEqual(await singleRun(READINGS));
    } finally {
      await store.close();
    }
  });

  it('a process killed mid-run is taken over once its lease has run out', async () => {
    const file = join(dir, 'killed.db');
    const store = SqliteEventStore.open(file);
    try {
      await appendReadings(store, READINGS);
      const first = start(file, 'first', PAUSE_AT);
      await vi.waitFor(() => expect(first.lines).toContain('pausing'), { timeout: 30_000 });
      first.child.kill('SIGKILL');
      expect(await first.exit).toMatchObject({ signal: 'SIGKILL' });

      const second = start(file, 'second');
      expect(await second.exit).toMatchObject({ code: 0 });
      expect(second.lines).toContain('done');
      expect([...epochsOf(second)]).toEqual(['2']);
      expect(await derivedEvents(store)).toEqual(await singleRun(READINGS));
    } finally {
      await store.close();
    }
  });
});
