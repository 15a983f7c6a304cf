/**
 * The Nexmark queries q0, q1, q2, q3, q4, q5, q7, q8 and q11, written with Causeway's public
 * stream API over a stream of {@link NexmarkEvent}s (event time: `dateTime`). Each takes the
 * job's input stream and returns the query's result stream. They follow the Flink SQL
 * versions of the Nexmark benchmark (github.com/nexmark/nexmark).
 */
import {
  count,
  seconds,
  session,
  sliding,
  tumbling,
  type Stream,
  type ProcessContext,
  type TimeWindow,
  type WindowResult,
} from '@causewayjs/core';
import type { Auction, Bid, NexmarkEvent, Person } from './model.js';

const isBid = (e: NexmarkEvent): e is Bid => e.kind === 'bid';
const isAuction = (e: NexmarkEvent): e is Auction => e.kind === 'auction';
const isPerson = (e: NexmarkEvent): e is Person => e.kind === 'person';

/** q0, pass-through: every bid, unchanged (measures the engine's own cost). */
export function q0(events: Stream<NexmarkEvent>): Stream<Bid> {
  return events.filter(isBid);
}

/** q1, currency conversion: bid prices from dollars to euros (× 0.908). */
export function q1(
  events: Stream<NexmarkEvent>,
): Stream<{ auction: number; bidder: number; price: number; dateTime: number }> {
  return events.filter(isBid).map((b) => ({
    auction: b.auction,
    bidder: b.bidder,
    price: 0.908 * b.price,
    dateTime: b.dateTime,
  }));
}

/** q2, selection: bids on auctions whose id is a multiple of 123. */
export function q2(events: Stream<NexmarkEvent>): Stream<{ auction: number; price: number }> {
  return (events.filter((e) => e.kind === 'bid' && e.auction % 123 === 0) as Stream<Bid>).map(
    (b) => ({
      auction: b.auction,
      price: b.price,
    }),
  );
}

/** A q3 result: a local seller's auction in category 10. */
export interface Q3Result {
  name: string;
  city: string;
  state: string;
  auction: number;
}

/**
 * q3, local item suggestion: auctions of category 10 by sellers living in OR, ID or CA — an
 * unwindowed join of persons and auctions on `seller = id`, kept per seller in keyed state
 * (auctions that arrive before their seller wait for it).
 */
export function q3(events: Stream<NexmarkEvent>): Stream<Q3Result> {
  type State = { p?: [string, string, string]; waiting?: number[] };
  const people = events.filter(
    (e) => e.kind === 'person' && (e.state === 'OR' || e.state === 'ID' || e.state === 'CA'),
  );
  const auctions = events.filter((e) => e.kind === 'auction' && e.category === 10);
  return people
    .union(auctions)
    .keyBy((e) => (e.kind === 'person' ? e.id : (e as Auction).seller))
    .process<State, Q3Result>((state, e, ctx) => {
      if (e.kind === 'person') {
        const p: [string, string, string] = [e.name, e.city, e.state];
        for (const auction of state?.waiting ?? [])
          ctx.emit({ name: p[0], city: p[1], state: p[2], auction });
        return { p };
      }
      const a = e as Auction;
      if (state?.p) {
        ctx.emit({ name: state.p[0], city: state.p[1], state: state.p[2], auction: a.id });
        return state;
      }
      return { waiting: [...(state?.waiting ?? []), a.id] };
    });
}

type AuctionState = { a?: [number, number, number]; max?: number; early?: [number, number][] };
type AuctionMax = { category: number; auction: number; max: number };

/** q4's step for one bid of a known auction: a new maximum while it is open is emitted. */
function consider(
  s: AuctionState,
  price: number,
  ts: number,
  ctx: ProcessContext<number, AuctionMax>,
): void {
  const [category, start, end] = s.a as [number, number, number];
  if (ts < start || ts > end || (s.max !== undefined && price <= s.max)) return;
  s.max = price;
  ctx.emit({ category, auction: ctx.key, max: price });
}

/** A q4 result: the running average closing price of a category. */
export interface Q4Result {
  category: number;
  average: number;
}

/**
 * q4, average price per category: the highest bid of each auction made while it was open
 * (`auction.dateTime <= bid.dateTime <= auction.expires`), averaged per category. An
 * updating (unwindowed) query: each change of an auction's maximum re-emits its category's
 * average.
 */
export function q4(events: Stream<NexmarkEvent>): Stream<Q4Result> {
  const maxima = events
    .filter((e) => e.kind === 'auction' || e.kind === 'bid')
    .keyBy((e) => (e.kind === 'auction' ? e.id : e.auction))
    .process<AuctionState, AuctionMax>((state, e, ctx) => {
      const s: AuctionState = state ?? {};
      if (e.kind === 'auction') {
        s.a = [e.category, e.dateTime, e.expires];
        for (const [price, ts] of s.early ?? []) consider(s, price, ts, ctx);
        delete s.early;
        return s;
      }
      if (s.a === undefined) (s.early ??= []).push([e.price, e.dateTime]);
      else consider(s, e.price, e.dateTime, ctx);
      return s;
    });
  type CategoryState = { sum: number; n: number; max: Record<string, number> };
  return maxima
    .keyBy((m) => m.category)
    .process<CategoryState, Q4Result>((state, m, ctx) => {
      const s = state ?? { sum: 0, n: 0, max: {} };
      const before = s.max[m.auction];
      if (before === undefined) s.n++;
      s.sum += m.max - (before ?? 0);
      s.max[m.auction] = m.max;
      ctx.emit({ category: m.category, average: s.sum / s.n });
      return s;
    });
}

/** A q5 result: the auctions with the most bids in one sliding window. */
export interface Q5Result {
  window: TimeWindow;
  auctions: number[];
  bids: number;
}

/** q5's first, keyed half: bids per auction in each 10 s window sliding every 2 s. */
export function q5Counts(
  events: Stream<NexmarkEvent>,
  sizeMs = seconds(10),
  slideMs = seconds(2),
): Stream<WindowResult<number, number>> {
  return events
    .filter(isBid)
    .keyBy((b) => b.auction)
    .window(sliding({ size: sizeMs, slide: slideMs }))
    .aggregate(count());
}

/**
 * q5's second half: per sliding window (keyed by its start), the auctions with the most bids.
 * Its input is {@link q5Counts}'s, stamped `window.end - 1`, from the same job or from a
 * partitioned first stage through the store. `auctions` is sorted, so that the result does
 * not depend on the order the counts of one window arrive in.
 */
export function q5Top(
  counts: Stream<WindowResult<number, number>>,
  slideMs = seconds(2),
): Stream<Q5Result> {
  // Each count is stamped end - 1: a tumbling window of one slide gathers one sliding window's.
  return counts
    .keyBy((r) => r.window.start)
    .window(tumbling({ size: slideMs }))
    .aggregate({
      create: (): { max: number; auctions: number[]; window: TimeWindow | null } => ({
        max: 0,
        auctions: [],
        window: null,
      }),
      add: (acc, r: WindowResult<number, number>) => {
        acc.window = r.window;
        if (r.value > acc.max) {
          acc.max = r.value;
          acc.auctions = [r.key];
        } else if (r.value === acc.max) acc.auctions.push(r.key);
        return acc;
      },
      result: (acc) => acc,
    })
    .map((r) => ({
      window: r.value.window as TimeWindow,
      auctions: [...r.value.auctions].sort((x, y) => x - y),
      bids: r.value.max,
    }));
}

/** q5, hot items: per 10 s window sliding every 2 s, the auctions with the most bids. */
export function q5(
  events: Stream<NexmarkEvent>,
  sizeMs = seconds(10),
  slideMs = seconds(2),
): Stream<Q5Result> {
  return q5Top(q5Counts(events, sizeMs, slideMs), slideMs);
}

/** A q7 result: the highest bid(s) of a window. */
export interface Q7Result {
  window: TimeWindow;
  price: number;
  bids: Bid[];
}

/** q7, highest bid: per 10 s tumbling window, the bids with the highest price. */
export function q7(events: Stream<NexmarkEvent>, sizeMs = seconds(10)): Stream<Q7Result> {
  return events
    .filter(isBid)
    .windowAll(tumbling({ size: sizeMs }))
    .aggregate({
      create: (): { price: number; bids: Bid[] } => ({ price: -1, bids: [] }),
      add: (acc, b: Bid) => {
        if (b.price > acc.price) {
          acc.price = b.price;
          acc.bids = [b];
        } else if (b.price === acc.price) acc.bids.push(b);
        return acc;
      },
      result: (acc) => acc,
    })
    .map((r) => ({ window: r.window, price: r.value.price, bids: r.value.bids }));
}

/** A q8 result: a person who opened an auction in the 10 s window they registered in. */
export interface Q8Result {
  id: number;
  name: string;
  start: number;
}

/** q8, monitor new users: a window join of persons and auctions on `id = seller`. */
export function q8(events: Stream<NexmarkEvent>, sizeMs = seconds(10)): Stream<Q8Result> {
  return events.filter(isPerson).windowCoGroup(events.filter(isAuction), {
    leftKey: (p) => p.id,
    rightKey: (a) => a.seller,
    window: tumbling({ size: sizeMs }),
    // An inner join: coGroup also sees people who opened no auction (auctions = []).
    coGroup: (people, auctions, _key, window) =>
      auctions.length === 0
        ? []
        : people.map((p) => ({ id: p.id, name: p.name, start: window.start })),
  });
}

/** A q11 result: a bidder's session and its bid count. */
export interface Q11Result {
  bidder: number;
  bids: number;
  window: TimeWindow;
}

/** q11, user sessions: bids per bidder in session windows with a 10 s gap. */
export function q11(events: Stream<NexmarkEvent>, gapMs = seconds(10)): Stream<Q11Result> {
  return events
    .filter(isBid)
    .keyBy((b) => b.bidder)
    .window(session({ gap: gapMs }))
    .aggregate(count())
    .map((r) => ({ bidder: r.key, bids: r.value, window: r.window }));
}

/** Every query, by name. */
export const queries = { q0, q1, q2, q3, q4, q5, q7, q8, q11 } as const;

/** A query's name. */
export type QueryName = keyof typeof queries;
