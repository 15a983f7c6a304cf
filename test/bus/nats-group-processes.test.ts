import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { escapeIdentifier } from 'pg';
import {
  MemoryEventStore,
  OutboxRelay,
  memorySubscriptionStorage,
  type RecordedEvent,
} from '@causewayjs/core';
import { NatsMessageBus } from '@causewayjs/nats';
import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';
import {
  connectNats,
  deleteNatsStream,
  natsAvailable,
  natsUrl,
  randomNatsName,
} from '../support/nats.js';
import { LineMember } from '../support/member-processes.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const memberScript = fileURLToPath(new URL('./nats-group-member.ts', import.meta.url));
const available = (await natsAvailable()) && (await pgAvailable());

/** Messages published before the members start (catch-up), and again after the kill (live). */
const BATCH = 150;
/** Each wait's deadline: generous, for a CI runner where starting tsx alone takes seconds. */
const WAIT_MS = 45_000;
/** Starting the processes: seconds when idle, much longer on a loaded machine. */
const START_MS = 120_000;

/** A member of the group in a child process, and what it printed. */
class Member extends LineMember {
  waiting = false;
  ready = false;
  readonly committed: string[] = [];
  /** Every delivery as `[eventId, attempt]`, in order. */
  readonly delivered: Array<[string, number]> = [];
  holding: string | undefined;

  constructor(
    readonly id: string,
    args: {
      schema: string;
      stream: string;
      prefix: string;
      delayMs: number;
      hold: number;
      join: 'now' | 'later';
    },
  ) {
    super(memberScript, [
      args.schema,
      natsUrl,
      args.stream,
      args.prefix,
      id,
      String(args.delayMs),
      String(args.hold),
      args.join,
    ]);
  }

  protected onLine(line: string): void {
    const [what, eventId, attempt] = line.split(' ');
    if (what === 'waiting') this.waiting = true;
    else if (what === 'ready') this.ready = true;
    else if (what === 'committed' && eventId) this.committed.push(eventId);
    else if (what === 'delivered' && eventId) this.delivered.push([eventId, Number(attempt)]);
    else if (what === 'holding') this.holding = eventId;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    expect(await this.exited, `${this.id}: ${this.stderr}`).toEqual({ code: 0, signal: null });
  }
}

describe.skipIf(!available)('a NATS JetStream consumer group spread over processes', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  it(
    'with an inbox in PostgreSQL: a member SIGKILLed mid-run and one joining lose and repeat nothing',
    async () => {
      const schema = randomSchemaName();
      const stream = randomNatsName('WORK');
      const prefix = stream.toLowerCase();
      // The consumer side: the inbox tables and an effects table with no uniqueness, so that a
      // second application of a message would show as a second row.
      const db = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 2 });
      cleanup.push(() => dropSchema(schema));
      cleanup.push(() => db.close());
      await postgresSubscriptionStorage(db);
      const effects = `${escapeIdentifier(schema)}.effects`;
      await db.pool.query(
        `CREATE TABLE ${effects} (seq bigserial PRIMARY KEY, event_id text NOT NULL, member text NOT NULL)`,
      );
      // The producer side: a store whose relay publishes to the stream.
      const nc: NatsConnection = await connectNats();
      cleanup.push(() => nc.close());
      cleanup.push(() => deleteNatsStream(nc, stream));
      const bus = await NatsMessageBus.open({ connection: nc, stream, prefix });
      cleanup.push(() => bus.close());
      const source = new MemoryEventStore();
      const relay = new OutboxRelay({ storage: memorySubscriptionStorage(source), bus });
      cleanup.push(() => relay.stop());
      const publish = async (from: number) => {
        for (let i = from; i < from + BATCH; i++)
          await source.append(`job-${i % 13}`, [{ type: 'job.queued', data: { i } }]);
      };
      await publish(0);
      await relay.start();
      await relay.waitForPosition(BATCH, { timeoutMs: WAIT_MS });

      const members: Member[] = [];
      cleanup.push(async () => {
        for (const m of members) m.child.kill('SIGKILL');
        await Promise.all(members.map((m) => m.exited));
      });
      const start = (id: string, hold = 0) => {
        const m = new Member(id, { schema, stream, prefix, delayMs: 5, hold, join: 'later' });
        members.push(m);
        return m;
      };
      // Every process starts at once and joins the group when told (SIGUSR2): starting tsx
      // takes seconds on a busy machine, and the order of joins must not depend on it.
      const victim = start('a', 10);
      const [b, d] = [start('b'), start('d')];
      const effectCount = async () =>
        (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects}`)).rows[0]
          ?.n ?? 0;
      const until = (what: string, check: () => void, timeout = WAIT_MS) =>
        vi.waitFor(check, { timeout, interval: 20 }).catch((error: unknown) => {
          throw new Error(
            `${what}: ${String(error)}\n${members.map((m) => `${m.id}: ${m.stderr}`).join('\n')}`,
          );
        });
      await until(
        'all started',
        () => expect(members.every((m) => m.waiting)).toBe(true),
        START_MS,
      );
      const join = async (m: Member) => {
        m.child.kill('SIGUSR2');
        await until(`${m.id} joined`, () => expect(m.ready).toBe(true));
      };
      // The victim holds its 10th message after committing it: effect and inbox record in the
      // database, no acknowledgement to the broker. Its other pulled messages are in hand.
      await join(victim);
      await until('the victim holds a message', () => expect(victim.holding).toBeDefined());
      const held = victim.holding ?? '';
      await join(b);
      await until('b at work', () => expect(b.committed.length).toBeGreaterThanOrEqual(20));
      // Killed mid-run, with work in hand and a message committed but not acknowledged.
      victim.child.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');

      // A member joins mid-run, then the live half is published.
      expect(d.delivered).toEqual([]);
      await join(d);
      const beforeLive = d.committed.length;
      await publish(BATCH);
      await relay.waitForPosition(2 * BATCH, { timeoutMs: WAIT_MS });
      await vi.waitFor(async () => expect(await effectCount()).toBeGreaterThanOrEqual(2 * BATCH), {
        timeout: WAIT_MS,
        interval: 50,
      });
      // Let any late second application show before counting.
      await until('every member idle', () =>
        expect([b, d].every((m) => m.committed.length === m.delivered.length)).toBe(true),
      );

      const { rows } = await db.pool.query<{ event_id: string; member: string }>(
        `SELECT event_id, member FROM ${effects} ORDER BY seq`,
      );
      const ids = rows.map((r) => r.event_id);
      // Every message handled, none twice.
      expect(ids.length).toBe(2 * BATCH);
      expect(new Set(ids).size).toBe(2 * BATCH);
      const published: RecordedEvent[] = [];
      for await (const event of source.readAll()) published.push(event);
      expect([...ids].sort()).toEqual(published.map((e) => e.id).sort());
      // The held message was committed by the victim and redelivered to a survivor, whose
      // inbox acknowledged it without applying it again.
      expect(rows.filter((r) => r.event_id === held).map((r) => r.member)).toEqual(['a']);
      await until('the held message redelivered', () =>
        expect(
          [b, d].some((m) => m.delivered.some(([id, attempt]) => id === held && attempt > 1)),
        ).toBe(true),
      );
      // The joiner took part of the work.
      expect(d.committed.length - beforeLive).toBeGreaterThan(0);
      expect(rows.some((r) => r.member === 'd')).toBe(true);
      for (const m of [b, d]) {
        await m.stop();
        expect(m.stderr).toBe('');
      }
      // The group's inbox holds each message once.
      const inbox = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${escapeIdentifier(schema)}.causeway_inbox`,
      );
      expect(inbox.rows[0]?.n).toBe(2 * BATCH);
    },
    START_MS + 4 * WAIT_MS,
  );
});
