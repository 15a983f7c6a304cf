import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '@causewayjs/cli/internals';
import { openBackend, collect } from '@causewayjs/core';
import { cli, jsonLines } from './cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-cli-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('causeway bridge', () => {
  it('carries a store into another through a JSON context map, validated by the target schemas; a replay adds nothing', async () => {
    const from = `sqlite:${join(dir, 'shop.db')}`;
    const to = `sqlite:${join(dir, 'sales.db')}`;
    const shop = await openBackend(from);
    await shop.store.append('order-1', [
      { type: 'order.placed', data: { orderId: '1', total: 10, secret: 'x' } },
      { type: 'order.noted', data: { note: 'internal' } },
      { type: 'order.placed', data: { orderId: '2', total: 'ten' } },
      { type: 'order.shipped', data: { orderId: '1' } },
    ]);
    await shop.close();
    const schema = JSON.stringify({
      type: 'object',
      properties: { orderId: { type: 'string' }, total: { type: 'number' } },
      required: ['orderId', 'total'],
    });
    expect(
      (await cli(['schema', 'register', 'sales.order-opened', schema, '--store', to])).code,
    ).toBe(ExitCode.OK);
    const config = join(dir, 'bridge.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'shop-to-sales',
        sourceId: 'shop',
        rename: { 'order.shipped': 'sales.order-shipped' },
        map: {
          'order.placed': {
            type: 'sales.order-opened',
            stream: 'sales-{data.orderId}',
            fields: { orderId: 'orderId', total: 'total' },
          },
          'sales.order-shipped': { stream: 'sales-{data.orderId}' },
        },
      }),
    );
    const args = ['bridge', '--from', from, '--to', to, '--config', config, '--once', '--json'];
    const run = await cli(args);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.OK);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({
      name: 'shop-to-sales',
      position: 4,
      written: 2,
      dropped: 1,
      parked: 1, // total 'ten' breaks the target's schema
    });
    const read = async () => {
      const sales = await openBackend(to);
      try {
        return (await collect(sales.store.readAll())).map((e) => [e.stream, e.type, e.data]);
      } finally {
        await sales.close();
      }
    };
    expect(await read()).toEqual([
      ['sales-1', 'sales.order-opened', { orderId: '1', total: 10 }],
      ['sales-1', 'sales.order-shipped', { orderId: '1' }],
    ]);
    const parked = await cli(['parked', 'list', 'shop-to-sales', '--store', from, '--json']);
    expect(parked.stdout).toMatch(/SCHEMA_VALIDATION_FAILED/);
    // Again, from a moved-back checkpoint of another name: same ids, nothing new.
    const again = await cli([...args.slice(0, -2), '--name', 'replay', '--once']);
    expect(again.code).toBe(ExitCode.OK);
    expect(await read()).toHaveLength(2);
  });

  it('refuses a malformed config with a typed error and exit code', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ map: { 'a.b': { typo: 1 } } }));
    const run = await cli(['bridge', '--from', 'memory:', '--to', 'memory:', '--config', bad]);
    expect(run.code).toBe(ExitCode.INVALID_DATA);
    expect(run.stderr).toMatch(/map\.a\.b/);
    const missing = await cli([
      'bridge',
      '--from',
      'memory:',
      '--to',
      'memory:',
      '--config',
      join(dir, 'nope.json'),
    ]);
    expect(missing.code).toBe(ExitCode.NOT_FOUND);
  });

  it('takes a .mjs config whose translation is a function', async () => {
    const from = `sqlite:${join(dir, 'm-from.db')}`;
    const to = `sqlite:${join(dir, 'm-to.db')}`;
    const source = await openBackend(from);
    await source.store.append('s-1', [{ type: 'a.happened', data: { n: 1 } }]);
    await source.close();
    const config = join(dir, 'bridge.mjs');
    writeFileSync(
      config,
      "export default { name: 'fn', translation: (e) => ({ type: 'b.happened', data: { m: e.data.n * 2 } }) };\n",
    );
    const run = await cli(['bridge', '--from', from, '--to', to, '--config', config, '--once']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.OK);
    const target = await openBackend(to);
    try {
      expect((await collect(target.store.readAll())).map((e) => [e.type, e.data])).toEqual([
        ['b.happened', { m: 2 }],
      ]);
    } finally {
      await target.close();
    }
  });
});
