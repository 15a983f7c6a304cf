import { createHash } from 'node:crypto';
import { Client, escapeIdentifier, escapeLiteral, type ClientConfig } from 'pg';

/** How the listener currently learns of commits. */
export type CommitListenerState = 'idle' | 'connecting' | 'listening' | 'polling';

/** Settings of {@link PostgresCommitListener}. */
export interface PostgresCommitListenerOptions {
  /** Connection settings of the dedicated listening connection. */
  connection: ClientConfig;
  /** The notification channel (see {@link commitChannel}). */
  channel: string;
  /** Reads the committed head position, for polling while the connection is down. */
  readHead: () => Promise<number>;
  /**
   * Called with a position hint (0 when unknown) whenever commits may have happened, and how
   * it was learnt: a `NOTIFY`, or a read of the head (on listening, and while polling).
   */
  onCommit: (position: number, via: 'notify' | 'read') => void;
  /** Polling interval while not listening, in ms. */
  pollIntervalMs: number;
  /** First delay before reconnecting, in ms; doubles up to 30 s while attempts fail. */
  reconnectDelayMs: number;
  /** False to poll only (when the writers send no NOTIFY). */
  listen: boolean;
}

/** Longest reconnect delay, in ms. */
const MAX_RECONNECT_DELAY_MS = 30_000;

/** Longest channel name PostgreSQL accepts (NAMEDATALEN - 1 bytes). */
const MAX_CHANNEL_BYTES = 63;

/**
 * The `NOTIFY` channel of the event store in `schema`. Channels are per database, so the
 * schema is part of the name (hashed when the name would be too long).
 */
export function commitChannel(schema: string): string {
  const name = `causeway_commits:${schema}`;
  if (Buffer.byteLength(name) <= MAX_CHANNEL_BYTES) return name;
  return `causeway_commits:${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/**
 * The advisory lock key of `channel`'s listeners, as SQL arguments `(int4, int4)`. Every
 * listening connection holds it shared for as long as it listens; an appending transaction
 * tries to take it exclusively (`pg_try_advisory_xact_lock`) and sends its `NOTIFY` only when
 * that fails, that is when someone listens (or another append holds it: a spare NOTIFY).
 * So a store nobody watches from another connection commits without `NOTIFY`, which would
 * serialise its commits with every other notifying commit of the server.
 */
export function listenerLockKey(channel: string): string {
  return `hashtext('causeway.listen'), hashtext(${escapeLiteral(channel)})`;
}

/**
 * Learns of commits to one PostgreSQL event store from `LISTEN` on a dedicated connection
 * (opened on `start`, closed on `stop`). While that connection is down it polls the head
 * position and keeps trying to listen again; once listening again it reads the head and
 * reports it, so readers learn of whatever was committed in between.
 */
export class PostgresCommitListener {
  private current: CommitListenerState = 'idle';
  private client: Client | undefined;
  /** Bumped on every (re)connection, so events of a discarded client are ignored. */
  private generation = 0;
  private running = false;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectDelay: number;
  private lastHead = 0;
  private polling = false;

  constructor(private readonly options: PostgresCommitListenerOptions) {
    this.reconnectDelay = options.reconnectDelayMs;
  }

  /** How commits are being learnt now. */
  get state(): CommitListenerState {
    return this.current;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.options.listen) {
      void this.connect();
    } else {
      this.current = 'polling';
      this.startPolling();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.generation += 1;
    this.stopPolling();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
    // Idle once the connection is gone: until then it still holds the listeners' shared lock,
    // so appends still send NOTIFY.
    this.current = 'idle';
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.current = 'connecting';
    const client = new Client(this.options.connection);
    this.client = client;
    const lost = () => {
      if (generation === this.generation) this.lost(client);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (generation !== this.generation) return;
      const position = Number(message.payload);
      this.options.onCommit(
        Number.isSafeInteger(position) && position > 0 ? position : 0,
        'notify',
      );
    });
    try {
      await client.connect();
      // From here on appends notify (see listenerLockKey). Taking the lock waits for the
      // appends that took it without notifying to end; the head read below sees them, and
      // the commits made before LISTEN took effect.
      await client.query(
        `SELECT pg_advisory_lock_shared(${listenerLockKey(this.options.channel)})`,
      );
      await client.query(`LISTEN ${escapeIdentifier(this.options.channel)}`);
    } catch {
      lost();
      return;
    }
    if (generation !== this.generation) return;
    this.current = 'listening';
    this.reconnectDelay = this.options.reconnectDelayMs;
    this.stopPolling();
    // Commits made before LISTEN took effect were not notified to us: report the head read
    // now, so watchers that track positions learn of them (0, position unknown, if the read
    // fails; the next notification or reconnection tells again).
    let head = 0;
    try {
      head = await this.options.readHead();
    } catch {
      head = 0;
    }
    if (generation !== this.generation || !this.running) return;
    if (head > this.lastHead) this.lastHead = head;
    this.options.onCommit(head, 'read');
  }

  private lost(client: Client): void {
    if (!this.running) return;
    this.generation += 1;
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    this.current = 'polling';
    this.startPolling();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running) void this.connect();
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, MAX_RECONNECT_DELAY_MS);
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollIntervalMs);
    this.pollTimer.unref();
    void this.poll();
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const head = await this.options.readHead();
      if (head > this.lastHead) {
        this.lastHead = head;
        if (this.running) this.options.onCommit(head, 'read');
      }
    } catch {
      // The database is unreachable: the next tick tries again.
    } finally {
      this.polling = false;
    }
  }
}
