import { describe, expect, it } from 'vitest';
import {
  InvalidStreamDefinitionError,
  InvalidWindowError,
  count,
  countWindow,
  session,
  sliding,
  sum,
  toList,
  tumbling,
  windowStart,
  type WindowResult,
} from '@causewayjs/core';
import { runOver, tick, type Tick } from './helpers.js';

const summary = (r: WindowResult<string | number, unknown>) =>
  `${r.key}[${r.window.start},${r.window.end})=${JSON.stringify(r.value)}${r.update ? ' update' : ''}`;

describe('window alignment', () => {
  it('uses a true modulo, also for negative timestamps and offsets', () => {
    expect(windowStart(0, 10, 0)).toBe(0);
    expect(windowStart(9, 10, 0)).toBe(0);
    expect(windowStart(10, 10, 0)).toBe(10);
    expect(windowStart(-1, 10, 0)).toBe(-10);
    expect(windowStart(-10, 10, 0)).toBe(-10);
    expect(windowStart(-11, 10, 0)).toBe(-20);
    expect(windowStart(5, 10, 3)).toBe(3);
    expect(windowStart(2, 10, 3)).toBe(-7);
  });

  it('refuses windows of size <= 0 and slides beyond the size, at definition time', () => {
    expect(() => tumbling({ size: 0 })).toThrow(InvalidWindowError);
    expect(() => tumbling({ size: -5 })).toThrow(InvalidWindowError);
    expect(() => tumbling({ size: 1.5 })).toThrow(InvalidWindowError);
    expect(() => sliding({ size: 10, slide: 20 })).toThrow(/slide \(20\) > size \(10\)/);
    expect(() => sliding({ size: 10, slide: 0 })).toThrow(InvalidWindowError);
    expect(() => session({ gap: 0 })).toThrow(InvalidWindowError);
    expect(() => countWindow({ size: 0 })).toThrow(InvalidWindowError);
    expect(() => countWindow({ size: 3, slide: 4 })).toThrow(InvalidWindowError);
    try {
      tumbling({ size: 0 });
    } catch (e) {
      expect((e as InvalidWindowError).code).toBe('STREAM_INVALID_WINDOW');
    }
  });
});

describe('tumbling windows', () => {
  it('fire when the watermark passes their end, per key, [start, end)', async () => {
    const items = [
      tick('a', 1),
      tick('b', 2),
      tick('a', 9),
      tick('a', 10),
      tick('b', 25),
      tick('a', -3),
    ];
    const { results, late } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10 }))
        .aggregate(count()),
    );
    // -3 arrives after watermark 24 (25 - 0 - 1): its window [-10, 0) is long closed.
    expect(results.map(summary)).toEqual(['a[0,10)=2', 'b[0,10)=1', 'a[10,20)=1', 'b[20,30)=1']);
    expect(late.map((l) => l.value)).toEqual([tick('a', -3)]);
  });

  it('with no out-of-orderness bound, an element behind the newest one in a closed window is late', async () => {
    const items = [tick('a', 5), tick('a', 15), tick('a', 8)];
    const { results, late, job } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10 }))
        .aggregate(count()),
    );
    expect(results.map(summary)).toEqual(['a[0,10)=1', 'a[10,20)=1']);
    expect(late).toHaveLength(1);
    expect(job.status().late).toBe(1);
  });

  it('a bounded out-of-orderness keeps the window open for that long', async () => {
    const items = [tick('a', 5), tick('a', 15), tick('a', 8), tick('a', 16), tick('a', 9)];
    const { results, late } = await runOver<Tick, WindowResult<string, number>>(
      items,
      (s) =>
        s
          .keyBy((e) => e.k)
          .window(tumbling({ size: 10 }))
          .aggregate(count()),
      { watermark: { outOfOrdernessMs: 6 } },
    );
    // watermark after 16 is 16 - 6 - 1 = 9: [0, 10) fires there (9 >= end - 1), so 9 is late.
    expect(results.map(summary)).toEqual(['a[0,10)=2', 'a[10,20)=2']);
    expect(late.map((l) => (l.value as Tick).t)).toEqual([9]);
  });

  it('allowed lateness re-fires the window as an update, then refuses', async () => {
    const items = [tick('a', 1), tick('a', 12), tick('a', 3), tick('a', 16), tick('a', 4)];
    const { results, late } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10 }), { allowedLatenessMs: 5 })
        .aggregate(sum((e) => e.v)),
    );
    // wm 11 fires [0,10); 3 arrives within lateness (9 + 5 > 11): update; wm 15 closes it; 4 late.
    expect(results.map(summary)).toEqual(['a[0,10)=1', 'a[0,10)=2 update', 'a[10,20)=2']);
    expect(late.map((l) => (l.value as Tick).t)).toEqual([4]);
  });

  it("emit 'final' fires once at close with late elements included", async () => {
    const items = [tick('a', 1), tick('a', 12), tick('a', 3), tick('a', 16), tick('a', 4)];
    const { results } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10 }), { allowedLatenessMs: 5, emit: 'final' })
        .aggregate(count()),
    );
    expect(results.map(summary)).toEqual(['a[0,10)=2', 'a[10,20)=2']);
  });

  it("emit 'element' emits an updating result after every element", async () => {
    const items = [tick('a', 1), tick('a', 2), tick('a', 12)];
    const { results } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10 }), { emit: 'element' })
        .aggregate(count()),
    );
    expect(results.map(summary)).toEqual(['a[0,10)=1', 'a[0,10)=2 update', 'a[10,20)=1']);
  });

  it('honours the offset', async () => {
    const items = [tick('a', 2), tick('a', 3), tick('a', 12), tick('a', 14)];
    const { results } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10, offset: 3 }))
        .aggregate(count()),
    );
    expect(results.map(summary)).toEqual(['a[-7,3)=1', 'a[3,13)=2', 'a[13,23)=1']);
  });

  it('refuses bad lateness and emit options', () => {
    void runOver<Tick, Tick>([], (s) => {
      expect(() =>
        s.keyBy((e) => e.k).window(tumbling({ size: 1 }), { allowedLatenessMs: -1 }),
      ).toThrow(InvalidStreamDefinitionError);
      expect(() =>
        s.keyBy((e) => e.k).window(tumbling({ size: 1 }), { emit: 'sometimes' as 'final' }),
      ).toThrow(InvalidStreamDefinitionError);
      return s;
    });
  });
});

describe('sliding windows', () => {
  it('put each element in size/slide windows', async () => {
    const items = [tick('a', 0), tick('a', 5), tick('a', 11)];
    const { results } = await runOver<Tick, WindowResult<string, number[]>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(sliding({ size: 10, slide: 5 }))
        .aggregate({ ...toList<Tick>(), result: (acc) => acc.map((e) => e.t) }),
    );
    expect(results.map(summary)).toEqual([
      'a[-5,5)=[0]',
      'a[0,10)=[0,5]',
      'a[5,15)=[5,11]',
      'a[10,20)=[11]',
    ]);
  });
});

describe('late elements of sliding windows', () => {
  /** Each late record as `ts→[start,end)`: one per element and window it was too late for. */
  const pairs = (late: { value: unknown; window?: { start: number; end: number } }[]) =>
    late.map((l) => `${(l.value as Tick).t}→[${l.window?.start},${l.window?.end})`);

  it('counts and side-outputs every window an element is too late for, partially late ones too', async () => {
    // size 10, slide 5. 12 moves the watermark to 11: [-5,5) and [0,10) close. 8 belongs to
    // [0,10) (closed) and [5,15) (open): it goes into [5,15) and is late for [0,10). 3 belongs
    // to [-5,5) and [0,10), both closed: late for both.
    const items = [tick('a', 0), tick('a', 12), tick('a', 8), tick('a', 3)];
    const { results, late, job } = await runOver<Tick, WindowResult<string, number[]>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(sliding({ size: 10, slide: 5 }))
        .aggregate({ ...toList<Tick>(), result: (acc) => acc.map((e) => e.t) }),
    );
    expect(results.map(summary)).toEqual([
      'a[-5,5)=[0]',
      'a[0,10)=[0]',
      'a[5,15)=[12,8]',
      'a[10,20)=[12]',
    ]);
    expect(pairs(late)).toEqual(['8→[0,10)', '3→[-5,5)', '3→[0,10)']);
    expect(late.every((l) => l.watermark === 11 && l.key === 'a')).toBe(true);
    expect(job.status().late).toBe(3);
  });

  it('with allowed lateness: the windows still open take the element as an update, the closed ones count it late', async () => {
    // size 10, slide 5, lateness 5: a window closes when end - 1 + 5 <= watermark.
    // 16 (wm 15) fires and closes [-5,5) and [0,10). 7 is late for [0,10) and opens [5,15),
    // which fires at once (its end is behind the watermark). 22 (wm 21) fires [10,20) and
    // closes [5,15). 13 updates [10,20), and is late for [5,15).
    const items = [tick('a', 0), tick('a', 16), tick('a', 7), tick('a', 22), tick('a', 13)];
    const { results, late, job } = await runOver<Tick, WindowResult<string, number[]>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(sliding({ size: 10, slide: 5 }), { allowedLatenessMs: 5 })
        .aggregate({ ...toList<Tick>(), result: (acc) => acc.map((e) => e.t) }),
    );
    expect(results.map(summary)).toEqual([
      'a[-5,5)=[0]',
      'a[0,10)=[0]',
      'a[5,15)=[7]',
      'a[10,20)=[16]',
      'a[10,20)=[16,13] update',
      'a[15,25)=[16,22]',
      'a[20,30)=[22]',
    ]);
    expect(pairs(late)).toEqual(['7→[0,10)', '13→[5,15)']);
    expect(job.status().late).toBe(2);
  });

  it('tumbling and session windows name the one window an element was too late for', async () => {
    const items = [tick('a', 1), tick('a', 30), tick('a', 4)];
    const tumbled = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10 }))
        .aggregate(count()),
    );
    expect(pairs(tumbled.late)).toEqual(['4→[0,10)']);
    const sessions = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(session({ gap: 5 }))
        .aggregate(count()),
    );
    // [1,6) fired and closed at watermark 29 and is gone: 4's own session [4,9) is closed too.
    expect(pairs(sessions.late)).toEqual(['4→[4,9)']);
  });
});

describe('session windows', () => {
  it('merge sessions that overlap or touch, including through a late element', async () => {
    const items = [
      tick('a', 0),
      tick('a', 3),
      tick('b', 4),
      tick('a', 10),
      tick('a', 30),
      tick('a', 13),
    ];
    const { results } = await runOver<Tick, WindowResult<string, number>>(
      items,
      (s) =>
        s
          .keyBy((e) => e.k)
          .window(session({ gap: 5 }))
          .aggregate(count()),
      { watermark: { outOfOrdernessMs: 20 } },
    );
    // a: [0,5) + [3,8) -> [0,8); [10,15) and [13,18) -> [10,18); [8..10) gap: 8 < 10 so not touching.
    expect(results.map(summary).sort()).toEqual([
      'a[0,8)=2',
      'a[10,18)=2',
      'a[30,35)=1',
      'b[4,9)=1',
    ]);
  });

  it('a touching element bridges two sessions into one', async () => {
    const items = [tick('a', 0), tick('a', 10), tick('a', 5)];
    const { results } = await runOver<Tick, WindowResult<string, number>>(
      items,
      (s) =>
        s
          .keyBy((e) => e.k)
          .window(session({ gap: 5 }))
          .aggregate(count()),
      { watermark: { outOfOrdernessMs: 100 } },
    );
    expect(results.map(summary)).toEqual(['a[0,15)=3']);
  });

  it('a late element within the allowed lateness merges into a fired session and re-fires it', async () => {
    const items = [tick('a', 0), tick('a', 20), tick('a', 6)];
    const { results } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(session({ gap: 5 }), { allowedLatenessMs: 20 })
        .aggregate(count()),
    );
    // wm 19 fires [0,5); 6 opens [6,11), not touching [0,5): a new session, fired at once.
    // Then at the end [20,25) fires.
    expect(results.map(summary)).toEqual(['a[0,5)=1', 'a[6,11)=1', 'a[20,25)=1']);
  });

  it('a late element touching a fired session merges with it and re-fires it as an update', async () => {
    const items = [tick('a', 0), tick('a', 20), tick('a', 4)];
    const { results } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(session({ gap: 5 }), { allowedLatenessMs: 20 })
        .aggregate(count()),
    );
    expect(results.map(summary)).toEqual(['a[0,5)=1', 'a[0,9)=2 update', 'a[20,25)=1']);
  });

  it('needs an aggregate with merge', () => {
    void runOver<Tick, Tick>([], (s) => {
      expect(() =>
        s
          .keyBy((e) => e.k)
          .window(session({ gap: 5 }))
          .aggregate({ create: () => 0, add: (a: number) => a + 1, result: (a: number) => a }),
      ).toThrow(/merge/);
      return s;
    });
  });
});

describe('count windows', () => {
  it('tumble every size elements per key', async () => {
    const items = [1, 2, 3, 4, 5, 6, 7].map((i) => tick(i % 2 ? 'odd' : 'even', i, i));
    const { results } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(countWindow({ size: 2 }))
        .aggregate(sum((e) => e.v)),
    );
    expect(results.map(summary)).toEqual(['odd[0,2)=4', 'even[0,2)=6', 'odd[2,4)=12']);
  });

  it('slide over the last size elements', async () => {
    const items = [1, 2, 3, 4, 5].map((i) => tick('a', i, i));
    const { results } = await runOver<Tick, WindowResult<string, number>>(items, (s) =>
      s
        .keyBy((e) => e.k)
        .window(countWindow({ size: 3, slide: 2 }))
        .aggregate(sum((e) => e.v)),
    );
    expect(results.map(summary)).toEqual(['a[0,2)=3', 'a[1,4)=9']);
  });
});
