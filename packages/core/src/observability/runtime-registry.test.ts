import { describe, expect, it } from 'vitest';
import { RuntimeRegistry, type RuntimeReading } from './runtime-registry.js';

const source = (...readings: RuntimeReading[]) => ({ readings: () => readings });

describe('RuntimeRegistry', () => {
  it('measures every lag against one head, never below 0, and null for an unknown position', async () => {
    const registry = new RuntimeRegistry(() => Promise.resolve(10));
    registry.add(
      source(
        { kind: 'subscription', name: 'b', state: 'live', position: 7 },
        { kind: 'projection', name: 'a', state: 'running', position: 12, parked: 1 },
        { kind: 'subscription', name: 'c', state: 'unknown', position: undefined },
        { kind: 'stream-job', name: 'j', state: 'running', position: undefined, lag: 4 },
      ),
    );
    const { head, components } = await registry.snapshot();
    expect(head).toBe(10);
    expect(components.map((c) => [c.kind, c.name, c.lag])).toEqual([
      ['projection', 'a', 0],
      ['subscription', 'b', 3],
      ['subscription', 'c', null],
      ['stream-job', 'j', 4],
    ]);
  });

  it('reports a component once, by name: a live reading over a checkpoint over nothing', async () => {
    const registry = new RuntimeRegistry(() => Promise.resolve(10));
    registry.add(
      source({ kind: 'subscription', name: 's', state: 'unknown', position: undefined, parked: 2 }),
    );
    registry.add(source({ kind: 'saga', name: 's', state: 'live', position: 9 }));
    const remove = registry.add(
      source({ kind: 'subscription', name: 's', state: 'checkpointed', position: 5 }),
    );
    const [only] = (await registry.snapshot()).components;
    expect(only).toEqual({
      kind: 'saga',
      name: 's',
      state: 'live',
      position: 9,
      lag: 1,
      parked: 2,
      lagSeconds: null,
    });
    remove();
    expect((await registry.snapshot()).components).toHaveLength(1);
  });
});
