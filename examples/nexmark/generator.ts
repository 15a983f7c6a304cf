import type { Auction, Bid, NexmarkEvent, Person } from './model.js';

/**
 * Nexmark's event generator, after Apache Beam's (`org.apache.beam.sdk.nexmark.sources.generator`):
 * the same proportions (1 person : 3 auctions : 46 bids in every 50 events), ids (persons and
 * auctions from 1000, categories 10 to 14), hot keys (half the bids on the newest hot auction,
 * three quarters of the bidders and sellers hot), log-uniform prices `round(10^(6u) * 100)`
 * cents, and event times `baseTime + n * 1e6 / eventsPerSecond` µs. Each event draws from its
 * own generator seeded by (seed, event number), as Beam seeds one per event: the stream is
 * deterministic, and event `n` can be made without the ones before it. Beam's padding strings
 * (`extra`) are left out.
 */
export interface NexmarkConfig {
  /** Default 0. */
  seed?: number;
  /** Event rate that spaces event times (Beam's `firstEventRate`), default 10,000/s. */
  eventsPerSecond?: number;
  /** Event time of event 0; default 2015-07-15T00:00:00Z (as Beam's). */
  baseTime?: number;
}

export const PERSON_PROPORTION = 1;
export const AUCTION_PROPORTION = 3;
export const BID_PROPORTION = 46;
export const PROPORTION_DENOMINATOR = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
const NUM_ACTIVE_PEOPLE = 1000;
const PERSON_ID_LEAD = 10;
const NUM_IN_FLIGHT_AUCTIONS = 100;
const AUCTION_ID_LEAD = 10;
const HOT_SELLER_RATIO = 100;
const HOT_AUCTION_RATIO = 100;
const HOT_BIDDER_RATIO = 100;
const HOT_SELLERS_RATIO = 4;
const HOT_AUCTIONS_RATIO = 2;
const HOT_BIDDERS_RATIO = 4;

const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const US_CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
];
const FIRST_NAMES = [
  'Peter',
  'Paul',
  'Luke',
  'John',
  'Saul',
  'Vicky',
  'Kate',
  'Julie',
  'Sarah',
  'Deiter',
  'Walter',
];
const LAST_NAMES = [
  'Shultz',
  'Abrams',
  'Spencer',
  'White',
  'Bartels',
  'Walton',
  'Smith',
  'Jones',
  'Noris',
];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];

/** A small seeded generator (mulberry32), reseeded per event. */
class Random {
  private s = 0;

  reset(seed: number, n: number): void {
    this.s =
      (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^
        Math.imul(n, 0xc2b2ae35) ^
        Math.floor(n / 0x100000000)) |
      0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** The base-0 id of the last person created at or before event `eventId`. */
export function lastBase0PersonId(eventId: number): number {
  const epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  let offset = eventId % PROPORTION_DENOMINATOR;
  if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
  return epoch * PERSON_PROPORTION + offset;
}

/** The base-0 id of the last auction created at or before event `eventId`. */
export function lastBase0AuctionId(eventId: number): number {
  let epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  let offset = eventId % PROPORTION_DENOMINATOR;
  if (offset < PERSON_PROPORTION) {
    epoch--;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
    offset = AUCTION_PROPORTION - 1;
  } else {
    offset -= PERSON_PROPORTION;
  }
  return epoch * AUCTION_PROPORTION + offset;
}

function nextBase0PersonId(eventId: number, random: Random): number {
  const numPeople = lastBase0PersonId(eventId) + 1;
  const activePeople = Math.min(numPeople, NUM_ACTIVE_PEOPLE);
  return numPeople - activePeople + random.int(activePeople + PERSON_ID_LEAD);
}

function nextBase0AuctionId(eventId: number, random: Random): number {
  const maxAuction = lastBase0AuctionId(eventId);
  const minAuction = Math.max(maxAuction - NUM_IN_FLIGHT_AUCTIONS, 0);
  return minAuction + random.int(maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
}

function nextPrice(random: Random): number {
  return Math.round(Math.pow(10, random.next() * 6) * 100);
}

function nextString(random: Random, maxLength: number): string {
  const length = 3 + random.int(maxLength - 3);
  let s = '';
  for (let i = 0; i < length; i++)
    s += random.int(13) === 0 ? ' ' : String.fromCharCode(97 + random.int(26));
  return s.trim();
}

function pick<T>(random: Random, list: readonly T[]): T {
  return list[random.int(list.length)] as T;
}

/** A deterministic Nexmark event stream: `event(n)` is the n-th event (0-based). */
export class NexmarkGenerator {
  private readonly seed: number;
  private readonly delayUs: number;
  private readonly baseTime: number;
  private readonly random = new Random();

  constructor(config: NexmarkConfig = {}) {
    this.seed = config.seed ?? 0;
    const rate = config.eventsPerSecond ?? 10_000;
    if (!(rate > 0)) throw new RangeError('eventsPerSecond must be > 0');
    this.delayUs = 1_000_000 / rate;
    this.baseTime = config.baseTime ?? Date.UTC(2015, 6, 15);
  }

  /** Event time of event `n`. */
  timestampOf(n: number): number {
    return this.baseTime + Math.floor((n * this.delayUs) / 1000);
  }

  /** The n-th event. */
  event(n: number): NexmarkEvent {
    const random = this.random;
    random.reset(this.seed, n);
    const ts = this.timestampOf(n);
    const rem = n % PROPORTION_DENOMINATOR;
    if (rem < PERSON_PROPORTION) return this.person(n, ts, random);
    if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) return this.auction(n, ts, random);
    return this.bid(n, ts, random);
  }

  /** Events `from` (inclusive) to `to` (exclusive), in order. */
  events(from: number, to: number): NexmarkEvent[] {
    const out: NexmarkEvent[] = new Array<NexmarkEvent>(Math.max(0, to - from));
    for (let n = from; n < to; n++) out[n - from] = this.event(n);
    return out;
  }

  private person(n: number, ts: number, random: Random): Person {
    const name = `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`;
    const emailAddress = `${nextString(random, 7)}@${nextString(random, 5)}.com`;
    let creditCard = '';
    for (let i = 0; i < 4; i++)
      creditCard += (i > 0 ? ' ' : '') + String(random.int(10_000)).padStart(4, '0');
    return {
      kind: 'person',
      id: lastBase0PersonId(n) + FIRST_PERSON_ID,
      name,
      emailAddress,
      creditCard,
      city: pick(random, US_CITIES),
      state: pick(random, US_STATES),
      dateTime: ts,
    };
  }

  private auction(n: number, ts: number, random: Random): Auction {
    let seller =
      random.int(HOT_SELLERS_RATIO) > 0
        ? Math.floor(lastBase0PersonId(n) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO
        : nextBase0PersonId(n, random);
    seller += FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + random.int(NUM_CATEGORIES);
    const initialBid = nextPrice(random);
    // Beam: an auction lasts up to twice the time until NUM_IN_FLIGHT_AUCTIONS more are made.
    const eventsForAuctions = Math.floor(
      (NUM_IN_FLIGHT_AUCTIONS * PROPORTION_DENOMINATOR) / AUCTION_PROPORTION,
    );
    const horizon = this.timestampOf(n + eventsForAuctions) - ts;
    const expires = ts + 1 + random.int(Math.max(horizon * 2, 1));
    return {
      kind: 'auction',
      id: lastBase0AuctionId(n) + FIRST_AUCTION_ID,
      itemName: nextString(random, 20),
      description: nextString(random, 100),
      initialBid,
      reserve: initialBid + nextPrice(random),
      dateTime: ts,
      expires,
      seller,
      category,
    };
  }

  private bid(n: number, ts: number, random: Random): Bid {
    let auction =
      random.int(HOT_AUCTIONS_RATIO) > 0
        ? Math.floor(lastBase0AuctionId(n) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
        : nextBase0AuctionId(n, random);
    auction += FIRST_AUCTION_ID;
    let bidder =
      random.int(HOT_BIDDERS_RATIO) > 0
        ? Math.floor(lastBase0PersonId(n) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1
        : nextBase0PersonId(n, random);
    bidder += FIRST_PERSON_ID;
    return {
      kind: 'bid',
      auction,
      bidder,
      price: nextPrice(random),
      channel: pick(random, CHANNELS),
      dateTime: ts,
    };
  }
}
