import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ManualClock,
  SagaEngine,
  collect,
  defineSaga,
  openBackend,
  type Backend,
  type RecordedEvent,
} from '@causewayjs/core';

/**
 * An instance tells a redelivered event from one it never applied. Most events come past the
 * last position it received and are new; one at or below it is either a redelivery (a
 * replayed log) or an event that never got applied and comes late, such as a parked event an
 * operator retries after the instance moved on. Only the first is a duplicate.
 */
const tally = defineSaga<{ seen: string[] }>({
  name: 'tally',
  startsWith: ['tally.opened'],
  handles: ['tally.marked'],
  initialStep: 'open',
  correlate: (event) => (event.data as { key: string }).key,
  start: () => ({ state: { seen: [] } }),
  on: (event, { state }) => ({
    state: { seen: [...state.seen, (event.data as { mark: string }).mark] },
  }),
});

const adapters: [string, (dir: string) => string][] = [
  ['memory', () => 'memory:'],
  ['sqlite', (dir) => `sqlite:${join(dir, 'events.db')}`],
];

describe.each(adapters)('late and redelivered events of a saga instance (%s)', (_name, urlOf) => {
  let dir: string;
  let backend: Backend | undefined;
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies an event it never received, though older than the last, and ignores a redelivery', async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-saga-late-'));
    backend = await openBackend(urlOf(dir));
    const { store } = backend;
    const sagas = await backend.sagaStore();
    const engine = new SagaEngine(sagas, [tally], new ManualClock(Date.UTC(2026, 0)));
    const at = (type: string, mark: string) => ({ type, data: { key: 'k', mark } });
    await store.append('tally-k', [
      at('tally.opened', 'open'),
      at('tally.marked', 'a'),
      at('tally.marked', 'b'),
    ]);
    const [opened, a, b] = await collect(store.readAll());
    const handle = (event: RecordedEvent | undefined) =>
      store.transaction((tx) => engine.handleEvent(tally as never, event as RecordedEvent, tx));
    // a is parked (say): the instance goes on with b, then a is retried.
    await handle(opened);
    await handle(b);
    await handle(a);
    // And the log is replayed: all three again.
    await handle(opened);
    await handle(a);
    await handle(b);

    const view = await sagas.getInstance('tally', 'k');
    expect(view?.state).toEqual({ seen: ['b', 'a'] });
    expect(view?.history.map((h) => [h.id, (h.detail as { outcome?: string })?.outcome])).toEqual([
      [opened?.id, undefined],
      [b?.id, undefined],
      [a?.id, undefined],
      [opened?.id, 'duplicate'],
      [a?.id, 'duplicate'],
      [b?.id, 'duplicate'],
    ]);
    expect(engine.stats.duplicates).toBe(3);
    expect((await sagas.loadInstance('tally', 'k'))?.lastPosition).toBe(b?.position);
  });
});
