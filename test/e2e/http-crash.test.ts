// The server as its own process: appends acknowledged over HTTP survive a SIGKILL, and an SSE
// client that follows the log across the crash resumes with Last-Event-ID, with no gap and no
// duplicate.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, SseReader, eventually } from '../server/support.js';

const script = fileURLToPath(new URL('../server/server-process.ts', import.meta.url));

interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

function startProcess(file: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ child, url: line.trim(), exited });
    });
    child.on('exit', (code) => reject(new Error(`server process exited (${code}): ${err}`)));
  });
}

describe('the server as a process', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('keeps acknowledged appends through a SIGKILL, and SSE resumes across it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-http-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'events.db');

    const first = await startProcess(file);
    cleanups.push(async () => {
      first.child.kill('SIGKILL');
      await first.exited;
    });
    const follower = new SseReader(`${first.url}/subscribe?from=start`);
    await follower.ready();
    const http = new HttpClient(first.url);
    const acked: { stream: string; revision: number; position: number }[] = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let n = 0; !stop; n++) {
        let reply;
        try {
          reply = await http.post(`/streams/crash-${w}`, {
            events: [{ type: 'crash.tick', data: { w, n } }],
          });
        } catch {
          return; // The process died under this request: not acknowledged.
        }
        if (reply.status !== 201) return;
        acked.push(reply.body);
        if (acked.length >= 200) stop = true;
      }
    });
    await follower.waitFor(() => follower.messages.length >= 50);
    await eventually(() => acked.length >= 120, 30_000, '120 acknowledged appends');
    first.child.kill('SIGKILL');
    await first.exited;
    stop = true;
    await Promise.all(writers);
    await follower.endedByServer();
    const lastId = follower.messages[follower.messages.length - 1]!.id!;

    const second = await startProcess(file);
    cleanups.push(async () => {
      second.child.kill('SIGKILL');
      await second.exited;
    });
    const again = new HttpClient(second.url);
    for (const ack of acked) {
      const read = await again.get(`/streams/${ack.stream}?from=${ack.revision}&limit=1`);
      expect(read.body.events[0]?.position, `${ack.stream}@${ack.revision}`).toBe(ack.position);
    }
    const head = (await again.get('/ready')).body.head;
    expect(head).toBeGreaterThanOrEqual(Math.max(...acked.map((a) => a.position)));

    const resumed = new SseReader(`${second.url}/subscribe`, { 'last-event-id': lastId });
    cleanups.push(() => resumed.close());
    await resumed.waitFor(() => follower.messages.length + resumed.messages.length >= head);
    const positions = [...follower.messages, ...resumed.messages].map((m) => Number(m.id));
    expect(positions).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  });
});
