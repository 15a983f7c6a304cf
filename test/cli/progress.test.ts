import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type CliIo, startProgress } from '@causewayjs/cli/internals';

function io(interactive: boolean): CliIo & { written: () => string } {
  let text = '';
  const stderr = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  // cli-progress asks the stream for its width and cursor control, as on a terminal.
  Object.assign(stderr, {
    isTTY: interactive,
    columns: 120,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  return {
    stdout: new Writable({ write: (_c, _e, done) => done() }),
    stderr,
    interactive,
    env: {},
    signal: new AbortController().signal,
    written: () => text,
  };
}

describe('progress', () => {
  it('draws a bar with the count, rate and ETA on a terminal', () => {
    const terminal = io(true);
    const progress = startProgress(terminal, { total: 200, label: 'events' });
    progress.update(100);
    progress.stop();
    expect(terminal.written()).toMatch(/100\/200 events \| \d+\/s \| ETA /);
  });

  it('writes nothing when stderr is not a terminal, or with --json', () => {
    const pipe = io(false);
    const quiet = startProgress(pipe, { total: 10, label: 'events' });
    quiet.update(5);
    quiet.stop();
    expect(pipe.written()).toBe('');
    const json = io(true);
    const off = startProgress(json, { total: 10, label: 'events', enabled: false });
    off.update(5);
    off.stop();
    expect(json.written()).toBe('');
  });
});
