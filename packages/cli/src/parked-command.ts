import type { ParkedEvent } from '@causewayjs/core';
import { CliNotFoundError, CliUsageError } from './cli-errors.js';
import { type CliIo, printJson, printLine, printTable } from './cli-io.js';
import type { StoreContext } from './store-context.js';

/** A subscription and how many events it has parked. */
export interface ParkedSummary {
  subscription: string;
  parked: number;
}

/**
 * Lists parked events: with a subscription name, its entries (position order); without, every
 * checkpointed subscription that has parked events, with their counts.
 */
export async function listParked(
  context: StoreContext,
  io: CliIo,
  options: { subscription?: string; after?: number; limit?: number; json?: boolean },
): Promise<ParkedEvent[] | ParkedSummary[]> {
  const storage = await context.subscriptionStorage();
  if (options.subscription === undefined) {
    const names = (await storage.checkpoints.list()).map((c) => c.name).sort();
    const summaries: ParkedSummary[] = [];
    for (const subscription of names) {
      const parked = await storage.parked.count(subscription);
      if (parked > 0) summaries.push({ subscription, parked });
    }
    if (options.json) printJson(io, summaries);
    else if (summaries.length === 0) printLine(io, 'no parked events');
    else
      printTable(
        io,
        ['subscription', 'parked'],
        summaries.map((s) => [s.subscription, String(s.parked)]),
      );
    return summaries;
  }
  const entries = await storage.parked.list(options.subscription, {
    ...(options.after === undefined ? {} : { after: options.after }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
  if (options.json) printJson(io, entries);
  else if (entries.length === 0) printLine(io, `no parked events for ${options.subscription}`);
  else
    printTable(
      io,
      ['position', 'stream', 'type', 'reason', 'attempts', 'parked at', 'retry', 'error'],
      entries.map((e) => [
        String(e.position),
        e.stream,
        e.type,
        e.reason,
        String(e.attempts),
        e.parkedAt.toISOString(),
        e.retryRequested ? 'requested' : '',
        `${e.error.code ?? e.error.name}: ${e.error.message}`.slice(0, 120),
      ]),
    );
  return entries;
}

/**
 * Asks for parked events to be retried (`'retry'`: the subscription, in whichever process runs
 * it, hands them to its handler again) or removes them without handling (`'skip'`).
 *
 * @throws {CliNotFoundError} when none of the given positions is parked for the subscription.
 */
export async function resolveParked(
  context: StoreContext,
  io: CliIo,
  action: 'retry' | 'skip',
  options: { subscription: string; positions: readonly number[]; all?: boolean; json?: boolean },
): Promise<number> {
  if (options.all === true && options.positions.length > 0)
    throw new CliUsageError('give positions or --all, not both');
  if (options.all !== true && options.positions.length === 0)
    throw new CliUsageError('give the positions of the parked events, or --all');
  const storage = await context.subscriptionStorage();
  const which = options.all === true ? 'all' : options.positions;
  const count =
    action === 'retry'
      ? await storage.parked.requestRetry(options.subscription, which)
      : await storage.parked.remove(options.subscription, which);
  if (count === 0 && options.all !== true)
    throw new CliNotFoundError(
      'parked event at these positions for subscription',
      options.subscription,
    );
  if (options.json) printJson(io, { subscription: options.subscription, action, count });
  else
    printLine(
      io,
      action === 'retry'
        ? `${count} parked event(s) of ${options.subscription} marked for retry`
        : `${count} parked event(s) of ${options.subscription} skipped`,
    );
  return count;
}
