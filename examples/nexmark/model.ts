/** A person registering to sell or bid (Nexmark's Person). */
export interface Person {
  kind: 'person';
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  /** Event time, ms since the epoch. */
  dateTime: number;
}

/** An item put up for auction (Nexmark's Auction). */
export interface Auction {
  kind: 'auction';
  id: number;
  itemName: string;
  description: string;
  /** In cents. */
  initialBid: number;
  reserve: number;
  dateTime: number;
  expires: number;
  seller: number;
  category: number;
}

/** A bid on an auction (Nexmark's Bid). */
export interface Bid {
  kind: 'bid';
  auction: number;
  bidder: number;
  /** In cents. */
  price: number;
  channel: string;
  dateTime: number;
}

/** One event of the Nexmark stream. */
export type NexmarkEvent = Person | Auction | Bid;
