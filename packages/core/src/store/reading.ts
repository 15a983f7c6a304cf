import { decodeJson } from '../core/json-codec.js';
import { InvalidArgumentError, StreamDeletedError } from '../core/errors.js';
import type {
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StreamMetadata,
  StreamPartition,
} from './event-store.js';
import { MAX_PARTITIONS, fnv1a32 } from './partition.js';
import { Deleted, type StreamState } from './append-plan.js';
import { holdsUndecodable, undecodableError } from './decode-event-row.js';
import { assertDirection, assertFrom, assertLimit, assertStreamName } from './validation.js';

/** Events fetched by the first round trip of a streamed read without a limit. */
export const PAGE_SIZE = 1000;
/**
 * Largest page: pages double from {@link PAGE_SIZE} up to this, so long reads take few round
 * trips while memory stays bounded (a few MiB of events at most).
 */
export const MAX_PAGE_SIZE = 8000;

/** The revisions (and age) of a stream that a `readStream` call may show. */
export interface StreamWindow {
  forward: boolean;
  /** First revision to yield (forward) or the highest (backward). */
  start: number;
  /** Lowest visible revision (from truncateBefore / maxCount). */
  lowest: number;
  /** Only events recorded at or after this time (ms since epoch), from maxAge. */
  minRecordedAt: number | undefined;
  limit: number;
}

/** Validates readStream arguments up front so bad calls fail before any I/O. */
export function checkReadStream(stream: string, options: ReadStreamOptions): void {
  assertStreamName(stream);
  assertFrom(options.from, 'revision');
  assertDirection(options.direction);
  assertLimit(options.limit);
}

/**
 * Works out what a stream read may show, from the stream's row and metadata. Returns
 * undefined when nothing is visible; throws for a tombstoned stream.
 */
export function streamWindow(
  stream: string,
  state: StreamState | undefined,
  metadata: StreamMetadata,
  options: ReadStreamOptions,
  now: number,
): StreamWindow | undefined {
  if (state?.deleted === Deleted.hard) throw new StreamDeletedError(stream);
  if (!state || state.revision < 0) return undefined;
  const forward = options.direction !== 'backward';
  const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
  if (limit === 0) return undefined;
  let lowest = metadata.truncateBefore ?? 0;
  if (metadata.maxCount !== undefined)
    lowest = Math.max(lowest, state.revision - metadata.maxCount + 1);
  const from = options.from;
  let start: number;
  if (forward)
    start =
      from === undefined || from === 'start'
        ? lowest
        : from === 'end'
          ? state.revision + 1
          : Math.max(from, lowest);
  else
    start =
      from === undefined || from === 'end'
        ? state.revision
        : from === 'start'
          ? lowest
          : Math.min(from, state.revision);
  if (forward ? start > state.revision : start < lowest) return undefined;
  const minRecordedAt = metadata.maxAge === undefined ? undefined : now - metadata.maxAge * 1000;
  return { forward, start, lowest, minRecordedAt, limit };
}

/** Validated readAll options, normalised. */
export interface AllWindow {
  forward: boolean;
  /** First position to yield (forward) or the highest (backward). */
  start: number;
  types: string[] | undefined;
  streamPrefix: string | undefined;
  partition: StreamPartition | undefined;
  limit: number;
}

/** Validates and normalises readAll options. */
export function allWindow(options: ReadAllOptions): AllWindow {
  assertFrom(options.from, 'position');
  assertDirection(options.direction);
  assertLimit(options.limit);
  const forward = options.direction !== 'backward';
  const from = options.from;
  const start = forward
    ? from === undefined || from === 'start'
      ? 1
      : from === 'end'
        ? Number.MAX_SAFE_INTEGER
        : Math.max(from, 1)
    : from === undefined || from === 'end'
      ? Number.MAX_SAFE_INTEGER
      : from === 'start'
        ? 0
        : from;
  const filter = options.filter ?? {};
  if (typeof filter !== 'object' || filter === null) {
    throw new InvalidArgumentError('filter', 'filter must be an object { types, streamPrefix }');
  }
  let types: string[] | undefined;
  if (filter.types !== undefined) {
    if (
      !Array.isArray(filter.types) ||
      filter.types.some((t) => typeof t !== 'string' || t.length === 0)
    ) {
      throw new InvalidArgumentError(
        'filter',
        'filter.types must be an array of non-empty strings',
      );
    }
    types = [...(filter.types as readonly string[])];
  }
  if (
    filter.streamPrefix !== undefined &&
    (typeof filter.streamPrefix !== 'string' || filter.streamPrefix === '')
  ) {
    throw new InvalidArgumentError('filter', 'filter.streamPrefix must be a non-empty string');
  }
  return {
    forward,
    start,
    types,
    streamPrefix: filter.streamPrefix,
    partition: streamPartition(filter.partition),
    limit: options.limit ?? Number.MAX_SAFE_INTEGER,
  };
}

/**
 * Fetches the next page (at most `size` rows) and advances its own cursor; an empty or short
 * page ends the read.
 */
export type PageFetcher<T> = (size: number) => Promise<T[]>;

/**
 * Streams rows page by page: `start()` makes a fresh fetcher for each iteration. Iteration
 * ends on a short page or once `limit` rows were yielded, and memory stays bounded by one
 * page whatever the total. A hand-written iterator rather than an async generator: it hands
 * out buffered rows without the generator's per-item queueing, which matters at a few
 * hundred thousand events per second.
 *
 * A page of events may hold placeholders for rows that could not be decoded (see
 * `decodeEventRows`): `next()` throws the placeholder's `EventDecodeError` in its place, and
 * a further `next()` goes on with the row after it.
 */
export function pagedIterable<T>(
  limit: number,
  start: () => PageFetcher<T>,
  maxPageSize = MAX_PAGE_SIZE,
): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => new PageIterator(limit, start(), maxPageSize) };
}

/** The method by which an iterator of {@link pagedIterable} hands out what it holds at once. */
const NEXT_PAGE = Symbol('causeway.nextPage');

interface PagedIterator<T> extends AsyncIterator<T> {
  /**
   * The rest of the page in hand, or the next page once it is used up; empty at the end.
   * With a placeholder of an undecodable row in it: the items before the placeholder, then a
   * call that throws its error (and moves past it), as `next()` would.
   */
  [NEXT_PAGE](): Promise<T[]>;
}

/**
 * Appends every item `iterable` yields to `into` and returns `into`. A store's own reads
 * (see {@link pagedIterable}) are taken a page at a time: one await per page, and none of the
 * promise and result object that `for await` makes per item, which at a catch-up's few
 * hundred thousand events per second is a good part of what the garbage collector has to do.
 * Other iterables go item by item. When the iteration throws, `into` holds what came before.
 */
export async function readInto<T>(iterable: AsyncIterable<T>, into: T[]): Promise<T[]> {
  const iterator = iterable[Symbol.asyncIterator]();
  if (!(NEXT_PAGE in iterator)) {
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next())
      into.push(r.value);
    return into;
  }
  const paged = iterator as PagedIterator<T>;
  for (let page = await paged[NEXT_PAGE](); page.length > 0; page = await paged[NEXT_PAGE]())
    for (const item of page) into.push(item);
  return into;
}

class PageIterator<T> implements AsyncIterableIterator<T>, PagedIterator<T> {
  private page: T[] = [];
  private index = 0;
  private last = false;
  private pageSize = PAGE_SIZE;
  /** Whether the page in hand holds placeholders of undecodable rows. */
  private checked = false;

  constructor(
    private remaining: number,
    private readonly fetch: PageFetcher<T>,
    private readonly maxPageSize: number,
  ) {
    // A read given a limit asks for all of it at once, up to the largest page: its caller
    // wants that many (a subscription's catch-up batch then costs one round trip, not three).
    // Without one, pages grow from PAGE_SIZE, so a read that is stopped early fetched little.
    const first = remaining < Number.MAX_SAFE_INTEGER ? Math.max(remaining, PAGE_SIZE) : PAGE_SIZE;
    this.pageSize = Math.min(first, maxPageSize);
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.index >= this.page.length && !(await this.fill())) return this.finish();
    const value = this.page[this.index++] as T;
    if (this.checked) {
      const error = undecodableError(value);
      if (error) throw error;
    }
    return { value, done: false };
  }

  async [NEXT_PAGE](): Promise<T[]> {
    if (this.index >= this.page.length && !(await this.fill())) {
      this.finish();
      return [];
    }
    const { page, index } = this;
    let end = page.length;
    // A placeholder of an undecodable row ends what is handed out; first in hand, it throws.
    for (let i = index; this.checked && i < end; i++) {
      const error = undecodableError(page[i]);
      if (error === undefined) continue;
      if (i === index) {
        this.index += 1;
        throw error;
      }
      end = i;
    }
    this.index = end;
    // The page is never changed once fetched (the next one replaces it): handed out as is.
    return index === 0 && end === page.length ? page : page.slice(index, end);
  }

  return(): Promise<IteratorResult<T>> {
    return Promise.resolve(this.finish());
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** Fetches the next page into hand; false when the read is over. */
  private async fill(): Promise<boolean> {
    if (this.last || this.remaining <= 0) return false;
    const size = Math.min(this.pageSize, this.remaining);
    this.pageSize = Math.min(this.pageSize * 2, this.maxPageSize);
    this.page = await this.fetch(size);
    this.index = 0;
    this.checked = holdsUndecodable(this.page);
    this.remaining -= this.page.length;
    if (this.page.length < size) this.last = true;
    return this.page.length > 0;
  }

  private finish(): IteratorResult<T> {
    this.last = true;
    this.page = [];
    this.index = 0;
    return { value: undefined, done: true };
  }
}

/** Parses stored stream metadata text. */
export function parseStreamMetadata(text: string | null | undefined): StreamMetadata {
  return text ? decodeJson<StreamMetadata>(text) : {};
}

/** A validated page request of `listStreams`. */
export interface StreamsQuery {
  prefix: string | undefined;
  /** Exclusive lower bound: the last name of the previous page. */
  after: string | undefined;
  includeDeleted: boolean;
}

/** Validates listStreams options up front so bad calls fail before any I/O. */
export function checkListStreams(options: ListStreamsOptions): StreamsQuery {
  for (const key of ['prefix', 'after'] as const) {
    const value: unknown = options[key];
    if (value !== undefined && typeof value !== 'string')
      throw new InvalidArgumentError(key, 'must be a string');
  }
  assertLimit(options.limit);
  if (options.includeDeleted !== undefined && typeof options.includeDeleted !== 'boolean')
    throw new InvalidArgumentError('includeDeleted', 'must be a boolean');
  return {
    prefix: options.prefix === '' ? undefined : options.prefix,
    after: options.after,
    includeDeleted: options.includeDeleted ?? false,
  };
}

/**
 * Orders strings by Unicode code point, as SQLite's BINARY collation and PostgreSQL's "C"
 * collation do on UTF-8 (JavaScript's `<` compares UTF-16 code units, which differs for
 * characters beyond U+FFFF).
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * The smallest string above every string that starts with `prefix` in code point order, or
 * undefined when there is none cheaply (a prefix ending in U+10FFFF, or in a lone surrogate):
 * the upper bound of an index range scan.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const chars = [...prefix];
  const last = chars.pop();
  if (last === undefined) return undefined;
  const code = last.codePointAt(0) as number;
  if (code >= 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  const next = code === 0xd7ff ? 0xe000 : code + 1;
  return chars.join('') + String.fromCodePoint(next);
}

/** Validates `filter.partition` (see `ReadAllFilter.partition`). */
function streamPartition(partition: unknown): StreamPartition | undefined {
  if (partition === undefined) return undefined;
  const { count, index } = (partition ?? {}) as Partial<Record<'count' | 'index', unknown>>;
  if (
    typeof partition !== 'object' ||
    partition === null ||
    !Number.isInteger(count) ||
    (count as number) < 1 ||
    (count as number) > MAX_PARTITIONS ||
    !Number.isInteger(index) ||
    (index as number) < 0 ||
    (index as number) >= (count as number)
  ) {
    throw new InvalidArgumentError(
      'filter',
      `filter.partition must be { count, index } with count an integer from 1 to ${MAX_PARTITIONS} and index from 0 to count - 1`,
    );
  }
  return { count: count as number, index: index as number };
}

/** Whether `stream` belongs to `partition` (none: every stream does). */
export function inStreamPartition(stream: string, partition: StreamPartition | undefined): boolean {
  return partition === undefined || fnv1a32(stream) % partition.count === partition.index;
}
