import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CausewayError,
  InvalidArgumentError,
  InvalidSnapshotError,
  InvalidStreamNameError,
  type Snapshot,
  type SnapshotStore,
} from '@causewayjs/core';

/** How the shared suite reaches one snapshot store adapter. */
export interface SnapshotStoreHarness {
  /** Opens a snapshot store on this harness's database; may be called several times. */
  open(): Promise<SnapshotStore>;
  /** Closes what `open` opened and drops the database. Called after every test. */
  cleanup(): Promise<void>;
  /** True when two `open()` calls share data (durable adapters). */
  durable: boolean;
  /**
   * Writes snapshots as the previous version of the adapter's schema held them (version 1:
   * no subjects) into this harness's still empty database, before any `open()`. Absent for
   * adapters without a schema to migrate.
   */
  seedPreviousVersion?(rows: readonly PreviousVersionRow[]): Promise<void>;
}

/** A snapshot as the previous schema version stored it. */
export interface PreviousVersionRow {
  stream: string;
  stateVersion: string;
  revision: number;
  state: unknown;
  takenAt: Date;
}

const at = (iso: string) => new Date(iso);
const time = { takenAt: at('2026-03-01T12:00:00.250Z') };

function snap<S>(
  revision: number,
  state: S,
  stateVersion = 'v1',
  takenAt = at('2026-03-01T12:00:00.250Z'),
): Snapshot<S> {
  return { revision, stateVersion, state, takenAt };
}

/** A snapshot recording the encryption subjects of its state. */
function withSubjects<S>(snapshot: Snapshot<S>, subjects: string[]): Snapshot<S> {
  return { ...snapshot, subjects };
}

/**
 * The snapshot store contract, run against every adapter.
 *
 * @param makeHarness creates a fresh, empty database for one test.
 */
export function describeSnapshotStoreConformance(
  name: string,
  makeHarness: () => Promise<SnapshotStoreHarness>,
): void {
  describe(`SnapshotStore conformance: ${name}`, () => {
    let harness: SnapshotStoreHarness;
    let snapshots: SnapshotStore;

    beforeEach(async () => {
      harness = await makeHarness();
      snapshots = await harness.open();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('loads nothing for a stream without snapshots', async () => {
      expect(await snapshots.load('order-1', 'v1')).toBeUndefined();
    });

    it('saves and loads a snapshot with its revision, key, state and time', async () => {
      const state = {
        status: 'paid',
        lines: [{ sku: 'tea', qty: 2, price: 4.5 }],
        note: 'naïve ☕',
        none: null,
      };
      await snapshots.save('order-1', snap(41, state));
      expect(await snapshots.load('order-1', 'v1')).toEqual({
        revision: 41,
        stateVersion: 'v1',
        state,
        takenAt: at('2026-03-01T12:00:00.250Z'),
      });
    });

    it('holds any JSON value as state', async () => {
      for (const [i, state] of [0, 'text', [1, [2]], null, true, { a: { b: {} } }].entries()) {
        await snapshots.save(`s-${i}`, snap(0, state));
        expect((await snapshots.load(`s-${i}`, 'v1'))?.state).toEqual(state);
      }
    });

    it('hands out copies: changing a loaded or saved state does not change the stored one', async () => {
      const state = { items: [1, 2] };
      await snapshots.save('order-2', snap(3, state));
      state.items.push(3);
      const loaded = await snapshots.load<{ items: number[] }>('order-2', 'v1');
      loaded?.state.items.push(4);
      expect((await snapshots.load('order-2', 'v1'))?.state).toEqual({ items: [1, 2] });
    });

    it('ignores snapshots saved under another state version key', async () => {
      await snapshots.save('order-3', snap(10, { shape: 'old' }, 'order@1'));
      expect(await snapshots.load('order-3', 'order@2')).toBeUndefined();
      await snapshots.save('order-3', snap(12, { shape: 'new' }, 'order@2'));
      expect((await snapshots.load('order-3', 'order@2'))?.state).toEqual({ shape: 'new' });
      // The old key's snapshot is still the old one: keys never mix.
      expect(await snapshots.load('order-3', 'order@1')).toMatchObject({
        revision: 10,
        state: { shape: 'old' },
      });
    });

    it('keeps the newest revision: a later save of an older snapshot changes nothing', async () => {
      await snapshots.save('order-4', snap(20, { n: 20 }));
      await snapshots.save('order-4', snap(5, { n: 5 }));
      expect(await snapshots.load('order-4', 'v1')).toMatchObject({
        revision: 20,
        state: { n: 20 },
      });
      await snapshots.save('order-4', snap(30, { n: 30 }));
      expect(await snapshots.load('order-4', 'v1')).toMatchObject({
        revision: 30,
        state: { n: 30 },
      });
    });

    it('replaces a snapshot saved again at the same revision', async () => {
      await snapshots.save('order-5', snap(7, { n: 1 }));
      await snapshots.save('order-5', snap(7, { n: 2 }, 'v1', at('2026-03-02T00:00:00Z')));
      expect(await snapshots.load('order-5', 'v1')).toEqual(
        snap(7, { n: 2 }, 'v1', at('2026-03-02T00:00:00Z')),
      );
    });

    it('keeps streams apart', async () => {
      await snapshots.save('a-1', snap(1, 'a'));
      await snapshots.save('b-1', snap(2, 'b'));
      expect(await snapshots.load('a-1', 'v1')).toMatchObject({ revision: 1, state: 'a' });
      expect(await snapshots.load('b-1', 'v1')).toMatchObject({ revision: 2, state: 'b' });
    });

    it('delete removes every snapshot of a stream under every key, and only of that stream', async () => {
      await snapshots.save('order-6', snap(1, 1, 'v1'));
      await snapshots.save('order-6', snap(2, 2, 'v2'));
      await snapshots.save('order-7', snap(3, 3, 'v1'));
      await snapshots.delete('order-6');
      expect(await snapshots.load('order-6', 'v1')).toBeUndefined();
      expect(await snapshots.load('order-6', 'v2')).toBeUndefined();
      expect(await snapshots.load('order-7', 'v1')).toMatchObject({ revision: 3 });
      await snapshots.delete('never-had-any');
      await snapshots.save('order-6', snap(0, 'again'));
      expect(await snapshots.load('order-6', 'v1')).toMatchObject({ revision: 0, state: 'again' });
    });

    describe('encryption subjects (crypto-shredding reaches snapshots)', () => {
      it('stores the subjects and returns them sorted, without duplicates', async () => {
        await snapshots.save('customer-1', withSubjects(snap(3, { n: 3 }), ['c-2', 'c-1', 'c-2']));
        expect(await snapshots.load('customer-1', 'v1')).toEqual({
          ...snap(3, { n: 3 }),
          subjects: ['c-1', 'c-2'],
        });
        await snapshots.save('customer-2', withSubjects(snap(0, 0), []));
        expect((await snapshots.load('customer-2', 'v1'))?.subjects).toEqual([]);
      });

      it('loads a snapshot saved without subjects without any (unknown)', async () => {
        await snapshots.save('customer-1', snap(3, { n: 3 }));
        const loaded = await snapshots.load('customer-1', 'v1');
        expect(loaded).toBeDefined();
        expect(loaded?.subjects).toBeUndefined();
      });

      it('replaces the subjects with the snapshot; an older save changes neither', async () => {
        await snapshots.save('customer-1', withSubjects(snap(5, 5), ['a']));
        await snapshots.save('customer-1', withSubjects(snap(3, 3), ['b']));
        expect(await snapshots.load('customer-1', 'v1')).toMatchObject({
          revision: 5,
          subjects: ['a'],
        });
        expect(await snapshots.deleteBySubject('b')).toBe(0);
        await snapshots.save('customer-1', withSubjects(snap(6, 6), ['b']));
        expect(await snapshots.deleteBySubject('a')).toBe(0);
        expect(await snapshots.load('customer-1', 'v1')).toMatchObject({
          revision: 6,
          subjects: ['b'],
        });
        expect(await snapshots.deleteBySubject('b')).toBe(1);
        expect(await snapshots.load('customer-1', 'v1')).toBeUndefined();
      });

      it('deleteBySubject removes exactly the snapshots listing the subject, or unknown ones', async () => {
        await snapshots.save('s-1', withSubjects(snap(1, 'a'), ['a']));
        await snapshots.save('s-1', withSubjects(snap(1, 'ab', 'v2'), ['a', 'b']));
        await snapshots.save('s-2', withSubjects(snap(2, 'b'), ['b']));
        await snapshots.save('s-3', withSubjects(snap(3, 'none'), []));
        await snapshots.save('s-4', snap(4, 'unknown'));
        await snapshots.save('s-5', withSubjects(snap(5, 'ab'), ['ab', 'a-']));

        expect(await snapshots.deleteBySubject('a')).toBe(3);
        expect(await snapshots.load('s-1', 'v1')).toBeUndefined();
        expect(await snapshots.load('s-1', 'v2')).toBeUndefined();
        expect(await snapshots.load('s-4', 'v1')).toBeUndefined();
        expect(await snapshots.load('s-2', 'v1')).toMatchObject({ state: 'b' });
        expect(await snapshots.load('s-3', 'v1')).toMatchObject({ state: 'none' });
        expect(await snapshots.load('s-5', 'v1')).toMatchObject({ state: 'ab' });

        expect(await snapshots.deleteBySubject('a')).toBe(0);
        expect(await snapshots.deleteBySubject('b')).toBe(1);
        expect(await snapshots.load('s-2', 'v1')).toBeUndefined();
        expect(await snapshots.deleteBySubject('nobody')).toBe(0);
        expect(await snapshots.load('s-3', 'v1')).toMatchObject({ state: 'none' });
        expect(await snapshots.load('s-5', 'v1')).toMatchObject({ state: 'ab' });

        // A snapshot saved again after its subject's were deleted is kept by the next forget
        // of that subject when it no longer lists it.
        await snapshots.save('s-1', withSubjects(snap(7, 'c'), ['c']));
        expect(await snapshots.deleteBySubject('a')).toBe(0);
        expect(await snapshots.load('s-1', 'v1')).toMatchObject({ revision: 7 });
      });

      it('delete removes the subjects of the stream with its snapshots', async () => {
        await snapshots.save('s-1', withSubjects(snap(1, 1), ['a']));
        await snapshots.delete('s-1');
        await snapshots.save('s-1', withSubjects(snap(0, 0), ['c']));
        expect(await snapshots.deleteBySubject('a')).toBe(0);
        expect(await snapshots.load('s-1', 'v1')).toMatchObject({ subjects: ['c'] });
      });

      it('refuses bad subjects with a named error, and stores nothing', async () => {
        const bad: [string, unknown][] = [
          ['not an array', 'c-1'],
          ['an empty subject', ['']],
          ['a subject of 201 characters', ['x'.repeat(201)]],
          ['a subject that is not a string', [7]],
        ];
        for (const [what, subjects] of bad) {
          const error: unknown = await snapshots
            .save('bad-1', { ...snap(1, {}), subjects: subjects as string[] })
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          expect(error, what).toBeInstanceOf(InvalidSnapshotError);
          expect(await snapshots.load('bad-1', 'v1')).toBeUndefined();
        }
        await expect(snapshots.deleteBySubject('')).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(snapshots.deleteBySubject('x'.repeat(201))).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      });

      it('keeps the snapshots of the previous schema version loadable, with unknown subjects', async (context) => {
        const previous = await makeHarness();
        try {
          if (!previous.seedPreviousVersion) {
            context.skip('the adapter has no schema to migrate');
            return;
          }
          await previous.seedPreviousVersion([
            { stream: 'old-1', stateVersion: 'v1', revision: 9, state: { n: 9 }, ...time },
            { stream: 'old-2', stateVersion: 'v1', revision: 4, state: [4], ...time },
          ]);
          const migrated = await previous.open();
          const loaded = await migrated.load('old-1', 'v1');
          expect(loaded).toEqual(snap(9, { n: 9 }));
          expect(loaded?.subjects).toBeUndefined();
          await migrated.save('old-2', withSubjects(snap(5, [5]), ['c-1']));
          expect(await migrated.load('old-2', 'v1')).toMatchObject({ subjects: ['c-1'] });
          // Of unknown subjects, the old snapshot may hold anyone's data: any forget drops it.
          expect(await migrated.deleteBySubject('c-9')).toBe(1);
          expect(await migrated.load('old-1', 'v1')).toBeUndefined();
          expect(await migrated.load('old-2', 'v1')).toMatchObject({ revision: 5 });
        } finally {
          await previous.cleanup();
        }
      });
    });

    describe('bad input is refused with a named error and nothing stored', () => {
      const bad: [string, Snapshot][] = [
        ['a negative revision', snap(-1, {})],
        ['a fractional revision', snap(1.5, {})],
        ['an empty state version key', snap(1, {}, '')],
        [
          'a state version key that is not a string',
          { ...snap(1, {}), stateVersion: 3 as unknown as string },
        ],
        ['an invalid takenAt', snap(1, {}, 'v1', new Date(Number.NaN))],
        ['a state that is not JSON (a Date)', snap(1, { when: new Date() })],
        ['a state that is not JSON (a BigInt)', snap(1, { n: 1n })],
        ['a state that is not JSON (NaN)', snap(1, { n: Number.NaN })],
      ];
      for (const [what, snapshot] of bad) {
        it(`refuses ${what}`, async () => {
          const error: unknown = await snapshots.save('bad-1', snapshot).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(InvalidSnapshotError);
          expect((error as CausewayError).code).toBe('INVALID_SNAPSHOT');
          expect(await snapshots.load('bad-1', 'v1')).toBeUndefined();
        });
      }

      it('refuses bad stream names', async () => {
        await expect(snapshots.save('', snap(1, {}))).rejects.toBeInstanceOf(
          InvalidStreamNameError,
        );
        await expect(snapshots.load('', 'v1')).rejects.toBeInstanceOf(InvalidStreamNameError);
        await expect(snapshots.delete('$all')).rejects.toBeInstanceOf(InvalidStreamNameError);
      });

      it('refuses to load under an empty key', async () => {
        await expect(snapshots.load('order-1', '')).rejects.toBeInstanceOf(InvalidSnapshotError);
      });
    });

    it('keeps the newest of concurrent saves', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => snapshots.save('order-8', snap(i, { n: i }))),
      );
      expect(await snapshots.load('order-8', 'v1')).toMatchObject({
        revision: 19,
        state: { n: 19 },
      });
    });

    it('keeps snapshots across reopening (durable adapters)', async (context) => {
      if (!harness.durable) {
        context.skip('the memory adapter keeps nothing across opens');
        return;
      }
      await snapshots.save('order-9', snap(4, { kept: true }));
      await snapshots.save('order-10', withSubjects(snap(1, {}), ['c-1']));
      const again = await harness.open();
      expect(await again.load('order-9', 'v1')).toMatchObject({
        revision: 4,
        state: { kept: true },
      });
      expect(await again.load('order-10', 'v1')).toMatchObject({ subjects: ['c-1'] });
      // order-10, and order-9 whose subjects are unknown.
      expect(await again.deleteBySubject('c-1')).toBe(2);
      expect(await snapshots.load('order-10', 'v1')).toBeUndefined();
    });
  });
}
