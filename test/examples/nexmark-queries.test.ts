import { describe, expect, it } from 'vitest';
import {
  NexmarkGenerator,
  lastBase0AuctionId,
  lastBase0PersonId,
} from '../../examples/nexmark/generator.js';
import type { Auction, Bid, NexmarkEvent, Person } from '../../examples/nexmark/model.js';
import type {
  Q3Result,
  Q4Result,
  Q5Result,
  Q7Result,
  Q8Result,
  Q11Result,
} from '../../examples/nexmark/queries.js';
import { nexmarkSource } from '../../examples/nexmark/nexmark-source.js';
import { runQuery } from '../../examples/nexmark/run-query.js';

// 20,000 events at 100 events/s: 200 s of event time, so windows of 10 s have something in them.
const generator = new NexmarkGenerator({ seed: 7, eventsPerSecond: 100 });
const events = generator.events(0, 20_000);
const bids = events.filter((e): e is Bid => e.kind === 'bid');
const auctions = events.filter((e): e is Auction => e.kind === 'auction');
const people = events.filter((e): e is Person => e.kind === 'person');
const floorTo = (t: number, size: number) => t - (((t % size) + size) % size);

describe('Nexmark generator', () => {
  it('is deterministic per seed and differs between seeds', () => {
    expect(new NexmarkGenerator({ seed: 7, eventsPerSecond: 100 }).events(0, 500)).toEqual(
      events.slice(0, 500),
    );
    expect(new NexmarkGenerator({ seed: 8, eventsPerSecond: 100 }).events(0, 500)).not.toEqual(
      events.slice(0, 500),
    );
    expect(generator.event(12_345)).toEqual(events[12_345]);
  });

  it('keeps the 1:3:46 mix, ids from 1000 in order, and times in order', () => {
    expect(people).toHaveLength(400);
    expect(auctions).toHaveLength(1200);
    expect(bids).toHaveLength(18_400);
    expect(people.map((p) => p.id)).toEqual(people.map((_, i) => 1000 + i));
    expect(auctions.map((a) => a.id)).toEqual(auctions.map((_, i) => 1000 + i));
    for (let i = 1; i < events.length; i++)
      expect((events[i] as NexmarkEvent).dateTime).toBeGreaterThanOrEqual(
        (events[i - 1] as NexmarkEvent).dateTime,
      );
    expect((events[100] as NexmarkEvent).dateTime - (events[0] as NexmarkEvent).dateTime).toBe(
      1000,
    );
    expect(lastBase0PersonId(0)).toBe(0);
    expect(lastBase0AuctionId(1)).toBe(0);
    expect(lastBase0AuctionId(50)).toBe(2);
  });

  it('has hot keys, categories 10-14 and log-uniform prices', () => {
    // Half the bids go to the hot auction of the moment (base-0 id a multiple of 100), and
    // three quarters of the bids come from hot bidders (base-0 id 1 modulo 100).
    const hotAuction = bids.filter((b) => (b.auction - 1000) % 100 === 0).length / bids.length;
    expect(hotAuction).toBeGreaterThan(0.45);
    expect(hotAuction).toBeLessThan(0.6);
    const hotBidder = bids.filter((b) => (b.bidder - 1000) % 100 === 1).length / bids.length;
    expect(hotBidder).toBeGreaterThan(0.7);
    expect(new Set(auctions.map((a) => a.category))).toEqual(new Set([10, 11, 12, 13, 14]));
    const prices = bids.map((b) => b.price);
    expect(Math.min(...prices)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...prices)).toBeLessThanOrEqual(100_000_000);
    const belowTenDollars = prices.filter((p) => p < 1000).length / prices.length;
    expect(belowTenDollars).toBeGreaterThan(0.1);
    expect(belowTenDollars).toBeLessThan(0.25); // log-uniform over 6 decades: 1/6
    for (const a of auctions) expect(a.expires).toBeGreaterThan(a.dateTime);
  });
});

describe('Nexmark queries against plain loops', () => {
  it('q0 passes every bid through', async () => {
    const { results, late } = await runQuery('q0', events);
    expect(results).toEqual(bids);
    expect(late).toBe(0);
  });

  it('q1 converts prices', async () => {
    const { results } = await runQuery('q1', events);
    expect(results).toEqual(
      bids.map((b) => ({
        auction: b.auction,
        bidder: b.bidder,
        price: b.price * 0.908,
        dateTime: b.dateTime,
      })),
    );
  });

  it('q2 selects auctions divisible by 123', async () => {
    const { results } = await runQuery('q2', events);
    const expected = [];
    for (const b of bids)
      if (b.auction % 123 === 0) expected.push({ auction: b.auction, price: b.price });
    expect(expected.length).toBeGreaterThan(0);
    expect(results).toEqual(expected);
  });

  it('q3 joins local sellers with their category-10 auctions', async () => {
    const { results } = await runQuery('q3', events);
    const expected: string[] = [];
    for (const a of auctions) {
      if (a.category !== 10) continue;
      for (const p of people)
        if (p.id === a.seller && ['OR', 'ID', 'CA'].includes(p.state))
          expected.push(`${p.name}|${p.city}|${p.state}|${a.id}`);
    }
    const got = (results as Q3Result[]).map((r) => `${r.name}|${r.city}|${r.state}|${r.auction}`);
    expect(expected.length).toBeGreaterThan(5);
    expect(got.sort()).toEqual(expected.sort());
  });

  it('q4 averages the closing prices per category', async () => {
    const { results } = await runQuery('q4', events);
    const last = new Map<number, number>();
    for (const r of results as Q4Result[]) last.set(r.category, r.average);
    const sums = new Map<number, [number, number]>();
    for (const a of auctions) {
      let max = -1;
      for (const b of bids)
        if (
          b.auction === a.id &&
          b.dateTime >= a.dateTime &&
          b.dateTime <= a.expires &&
          b.price > max
        )
          max = b.price;
      if (max < 0) continue;
      const s = sums.get(a.category) ?? [0, 0];
      sums.set(a.category, [s[0] + max, s[1] + 1]);
    }
    expect([...last.keys()].sort()).toEqual([...sums.keys()].sort());
    for (const [category, [sum, n]] of sums) expect(last.get(category)).toBeCloseTo(sum / n, 6);
  });

  it('q5 finds the hottest auctions of each sliding window', async () => {
    const { results } = await runQuery('q5', events);
    const counts = new Map<number, Map<number, number>>();
    for (const b of bids) {
      for (let start = floorTo(b.dateTime, 2000); start > b.dateTime - 10_000; start -= 2000) {
        const w = counts.get(start) ?? new Map<number, number>();
        w.set(b.auction, (w.get(b.auction) ?? 0) + 1);
        counts.set(start, w);
      }
    }
    const expected: string[] = [];
    for (const [start, w] of counts) {
      const max = Math.max(...w.values());
      const hot = [...w]
        .filter(([, c]) => c === max)
        .map(([a]) => a)
        .sort((x, y) => x - y);
      expected.push(`${start}:${max}:${hot.join(',')}`);
    }
    const got = (results as Q5Result[]).map(
      (r) => `${r.window.start}:${r.bids}:${[...r.auctions].sort((x, y) => x - y).join(',')}`,
    );
    expect(got.sort()).toEqual(expected.sort());
  });

  it('q7 finds the highest bids of each tumbling window', async () => {
    const { results } = await runQuery('q7', events);
    const best = new Map<number, { price: number; bids: Bid[] }>();
    for (const b of bids) {
      const start = floorTo(b.dateTime, 10_000);
      const cur = best.get(start);
      if (!cur || b.price > cur.price) best.set(start, { price: b.price, bids: [b] });
      else if (b.price === cur.price) cur.bids.push(b);
    }
    const got = results as Q7Result[];
    expect(got.map((r) => r.window.start)).toEqual([...best.keys()]);
    for (const r of got) expect({ price: r.price, bids: r.bids }).toEqual(best.get(r.window.start));
  });

  it('q8 finds people who opened an auction in the window they registered in', async () => {
    const { results } = await runQuery('q8', events);
    const expected: string[] = [];
    for (const p of people) {
      const start = floorTo(p.dateTime, 10_000);
      if (auctions.some((a) => a.seller === p.id && floorTo(a.dateTime, 10_000) === start))
        expected.push(`${p.id}|${p.name}|${start}`);
    }
    expect(expected.length).toBeGreaterThan(0);
    expect((results as Q8Result[]).map((r) => `${r.id}|${r.name}|${r.start}`).sort()).toEqual(
      expected.sort(),
    );
  });

  it('q11 counts bids per bidder session', async () => {
    const { results } = await runQuery('q11', events);
    const byBidder = new Map<number, number[]>();
    for (const b of bids) byBidder.set(b.bidder, [...(byBidder.get(b.bidder) ?? []), b.dateTime]);
    const expected: string[] = [];
    for (const [bidder, times] of byBidder) {
      times.sort((x, y) => x - y);
      let first = times[0] as number;
      let last = first;
      let n = 0;
      for (const t of times) {
        if (t - last > 10_000) {
          expected.push(`${bidder}:${first}-${last + 10_000}:${n}`);
          first = t;
          n = 0;
        }
        last = t;
        n++;
      }
      expected.push(`${bidder}:${first}-${last + 10_000}:${n}`);
    }
    const got = (results as Q11Result[]).map(
      (r) => `${r.bidder}:${r.window.start}-${r.window.end}:${r.bids}`,
    );
    expect(got.sort()).toEqual(expected.sort());
  });
});

describe('Nexmark source', () => {
  it('generates in batches as the job reads, with the same results as the pre-generated events', async () => {
    const fromSource = await runQuery(
      'q11',
      nexmarkSource({ seed: 7, eventsPerSecond: 100 }, 20_000),
      { batchSize: 777 },
    );
    const fromArray = await runQuery('q11', events);
    expect(fromSource.results).toEqual(fromArray.results);
  });
});
