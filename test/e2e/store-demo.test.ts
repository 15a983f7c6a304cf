import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('the demo that npm start runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells the event store story end to end, and again on the same file', async () => {
    const env = { ...process.env, STORE_URL: `sqlite:${join(dir, 'events.db')}` };
    const demo = new URL('../../examples/store-demo.ts', import.meta.url).pathname;
    const first = await run(process.execPath, ['--import', 'tsx', demo], { env });
    expect(first.stdout).toMatch(/one writer won at revision 2/);
    expect(first.stdout).toMatch(
      /the other got WRONG_EXPECTED_REVISION: expected 1, stream is at 2/,
    );
    expect(first.stdout).toMatch(/position (\d+) === \1/);
    expect(first.stdout).toMatch(/orders placed in this store so far: 1; log head at position 4/);
    const second = await run(process.execPath, ['--import', 'tsx', demo], { env });
    expect(second.stdout).toMatch(/orders placed in this store so far: 2; log head at position 8/);
  });
});
