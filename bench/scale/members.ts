/** The member processes of the scale benchmark and how the coordinator talks to them. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnMemberProcess, until as waitUntil } from '../../test/support/member-processes.js';

const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** One member process (see `worker.ts`) and the lines it printed. */
export interface Member {
  name: string;
  child: ChildProcess;
  lines: string[];
}

/**
 * Starts a member process running `script` (default this benchmark's `worker.ts`); its
 * stdout lines collect in `lines`, and it reads commands on stdin (see {@link send}).
 */
export function spawnMember(name: string, script = worker): Member {
  const lines: string[] = [];
  const { child } = spawnMemberProcess({
    script,
    onLine: (line) => lines.push(line),
    stdin: 'pipe',
    stderr: 'inherit',
  });
  return { name, child, lines };
}

/** Sends a command (one JSON line). */
export const send = (m: Member, command: object) =>
  m.child.stdin?.write(`${JSON.stringify(command)}\n`);

/** The last line starting with `prefix`. */
export const last = (m: Member, prefix: string) =>
  m.lines.filter((l) => l.startsWith(prefix)).at(-1);

/** Resolves once `check` holds, polling every `everyMs` (default 10); fails after `ms`. */
export const until = (
  check: () => boolean | Promise<boolean>,
  o: { ms: number; what: string; everyMs?: number },
): Promise<void> => waitUntil(check, { what: o.what, timeoutMs: o.ms, everyMs: o.everyMs });

/** Waits until every member holds exactly its share (`assigned` and `held` lines). */
export async function settled(used: Member[], share: Map<string, number[]>): Promise<void> {
  await until(
    () =>
      used.every((m) => {
        const mine = share.get(m.name) ?? [];
        return (
          last(m, 'assigned ') === `assigned ${mine.join(',')}` &&
          last(m, 'held ') === `held ${mine.length}`
        );
      }),
    { ms: 120_000, what: 'the members to settle' },
  );
}

/** Each member's CPU time (µs, since it started) and events read, asked for by `mark`. */
export async function marks(used: Member[]): Promise<{ cpuMicros: number; read: number }[]> {
  const before = used.map((m) => m.lines.filter((l) => l.startsWith('mark ')).length);
  for (const m of used) send(m, { cmd: 'mark' });
  await until(
    () => used.every((m, i) => m.lines.filter((l) => l.startsWith('mark ')).length > before[i]!),
    { ms: 30_000, what: 'the members to mark' },
  );
  return used.map((m) => {
    const [, cpu, read] = (last(m, 'mark ') ?? '').split(' ');
    return { cpuMicros: Number(cpu), read: Number(read) };
  });
}

/** Stops the members' current work and waits until each has closed its backend. */
export async function stopAll(used: Member[]): Promise<void> {
  for (const m of used) m.lines.length = 0;
  for (const m of used) send(m, { cmd: 'stop' });
  await until(() => used.every((m) => m.lines.includes('stopped')), {
    ms: 60_000,
    what: 'the members to stop',
  });
}
