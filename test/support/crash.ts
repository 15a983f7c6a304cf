import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { collect, type EventStore } from '@causewayjs/core';

/** One append the child acknowledged before it died. */
export interface Ack {
  stream: string;
  revision: number;
  position: number;
  batch: string;
  ids: string[];
}

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/**
 * Runs the crash writer against `url`, waits for `acks` acknowledged appends, kills it with
 * SIGKILL mid-flight and returns what it acknowledged.
 */
export async function runAndKill(url: string, acks: number): Promise<Ack[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen: Ack[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`crash writer exited early (${code ?? signal}): ${stderr}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === 'ready') continue;
        // A line cut off by the kill is not an acknowledgement we can rely on; whole lines are.
        seen.push(JSON.parse(line) as Ack);
        if (seen.length === acks) child.kill('SIGKILL');
      }
    });
  });
  return seen;
}

/** Checks a reopened store against what the killed writer acknowledged. */
export async function verifyAfterCrash(
  store: EventStore,
  acks: readonly Ack[],
): Promise<{ events: number }> {
  const all = await collect(store.readAll());
  // Positions gapless from 1.
  all.forEach((e, i) => {
    if (e.position !== i + 1)
      throw new Error(`position gap: expected ${i + 1}, found ${e.position}`);
  });
  const byId = new Map(all.map((e) => [e.id, e]));
  // Every acknowledged append is there, at the revisions it was acknowledged with.
  for (const ack of acks) {
    ack.ids.forEach((id, i) => {
      const e = byId.get(id);
      if (!e) throw new Error(`acknowledged event ${id} of batch ${ack.batch} is missing`);
      const expectedRevision = ack.revision - (ack.ids.length - 1) + i;
      if (e.stream !== ack.stream || e.revision !== expectedRevision) {
        throw new Error(
          `event ${id} is at ${e.stream}@${e.revision}, acknowledged at ${ack.stream}@${expectedRevision}`,
        );
      }
    });
  }
  // No partial append: every batch present is present whole; revisions gapless per stream.
  const batches = new Map<string, { of: number; count: number }>();
  for (const e of all) {
    const d = e.data as { batch: string; of: number };
    const b = batches.get(d.batch) ?? { of: d.of, count: 0 };
    b.count += 1;
    batches.set(d.batch, b);
  }
  for (const [batch, b] of batches) {
    if (b.count !== b.of)
      throw new Error(`batch ${batch} is partial: ${b.count} of ${b.of} events`);
  }
  const streams = new Set(all.map((e) => e.stream));
  for (const s of streams) {
    const revs = (await collect(store.readStream(s))).map((e) => e.revision);
    revs.forEach((r, i) => {
      if (r !== i) throw new Error(`stream ${s} has a revision gap at ${i}`);
    });
  }
  return { events: all.length };
}

/**
 * Runs a worker script that prints `position <p>` after each commit, `<progress> <p>` after
 * writing (not yet committing) the effects of the event at p, and `done` before a clean exit.
 * With `killAt`, SIGKILLs it once it reports `<progress>` at or past that position and
 * resolves with the last committed position it reported; otherwise waits for a clean exit.
 */
export function runWorkerUntil(
  script: string,
  args: readonly string[],
  progress: string,
  killAt?: number,
): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, ...args, killAt === undefined ? 'until-caught-up' : 'run'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let buffer = '';
  let stderr = '';
  let last = 0;
  let done = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (killAt !== undefined && signal === 'SIGKILL') resolve(last);
      else if (killAt === undefined && code === 0 && done) resolve(last);
      else reject(new Error(`worker ended unexpectedly (${code ?? signal}): ${stderr}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === 'done') {
          done = true;
          continue;
        }
        const [what, value] = line.split(' ');
        if (what === 'position') last = Number(value);
        else if (what === progress && killAt !== undefined && Number(value) >= killAt)
          child.kill('SIGKILL');
      }
    });
  });
}
