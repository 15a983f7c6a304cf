/** The member processes of the scale benchmark and how the coordinator talks to them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** One member process (see `worker.ts`) and the lines it printed. */
export interface Member {
  name: string;
  child: ChildProcess;
  lines: string[];
}

/** Starts a member process; its stdout lines collect in `lines`. */
export function spawnMember(name: string): Member {
  const child = spawn(process.execPath, ['--import', 'tsx', worker], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  });
  return { name, child, lines };
}

/** Sends a command (one JSON line). */
export const send = (m: Member, command: object) =>
  m.child.stdin?.write(`${JSON.stringify(command)}\n`);

/** The last line starting with `prefix`. */
export const last = (m: Member, prefix: string) =>
  m.lines.filter((l) => l.startsWith(prefix)).at(-1);

/** Resolves once `check` holds, polling every `everyMs`; fails after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  o: { ms: number; what: string; everyMs?: number },
): Promise<void> {
  const deadline = Date.now() + o.ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${o.what}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 10));
  }
}

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
