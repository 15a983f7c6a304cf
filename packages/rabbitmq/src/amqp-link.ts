import { connect, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { backoffDelay, sleepFor, type ResolvedBackoff } from '@causewayjs/core/internals';
import { BusClosedError, BusUnavailableError, type SubscriptionLogger } from '@causewayjs/core';

/** Options of {@link AmqpLink.open}. */
export interface AmqpLinkOptions {
  url: string;
  /** Shown by the broker as the connection's name (`rabbitmqctl list_connections name`). */
  name: string;
  /** Delays between reconnection attempts (exponential with full jitter; attempts ignored). */
  reconnect: ResolvedBackoff;
  /** How long the TCP connect and the AMQP handshake of an attempt may stay silent, in ms. */
  connectTimeoutMs: number;
  logger: SubscriptionLogger | undefined;
}

/** The connection and its confirm channel for publishing, while connected. */
export interface AmqpSession {
  model: ChannelModel;
  publisher: ConfirmChannel;
}

/**
 * One AMQP connection that comes back: when the broker closes it or goes away, it reconnects
 * with backoff (forever, until `close()`), opens a new confirm channel for publishing and tells
 * its listeners, who open their channels and consumers again. amqplib channels die with their
 * connection, so every user asks {@link session} for the current one.
 */
export class AmqpLink {
  private current: AmqpSession | undefined;
  private closed = false;
  private waiters = new Set<() => void>();
  private readonly listeners = new Set<(session: AmqpSession) => Promise<void> | void>();
  /** Reconnections so far (the first connection not counted). */
  reconnections = 0;

  private constructor(private readonly o: AmqpLinkOptions) {}

  /**
   * Connects once (no retry: a broker that cannot be reached at start is an error to report).
   *
   * @throws {BusUnavailableError} when the broker cannot be reached.
   */
  static async open(options: AmqpLinkOptions): Promise<AmqpLink> {
    const link = new AmqpLink(options);
    try {
      await link.connectOnce();
    } catch (error) {
      throw new BusUnavailableError(
        `Could not connect to RabbitMQ at ${redact(options.url)}: ${message(error)}`,
        error,
      );
    }
    return link;
  }

  /** Whether a connection is up now. */
  get connected(): boolean {
    return this.current !== undefined;
  }

  /**
   * The current connection, waiting up to `timeoutMs` for one while reconnecting.
   *
   * @throws {BusClosedError} after `close()`; {@link @causewayjs/core!BusUnavailableError} on timeout.
   */
  async session(timeoutMs: number): Promise<AmqpSession> {
    if (this.closed) throw new BusClosedError();
    if (this.current) return this.current;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
    if (this.closed) throw new BusClosedError();
    if (this.current) return this.current;
    throw new BusUnavailableError(`RabbitMQ is unreachable (reconnecting for ${timeoutMs} ms)`);
  }

  /** Calls `listener` after every reconnection; returns a function that removes it. */
  onReconnect(listener: (session: AmqpSession) => Promise<void> | void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closes the connection; no reconnection follows. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const session = this.current;
    this.current = undefined;
    this.wake();
    await session?.model.close().catch(() => undefined);
  }

  private async connectOnce(): Promise<void> {
    // A TCP connect or AMQP handshake that stays silent this long (a node still booting, a
    // stalled peer) fails the attempt instead of holding the reconnection loop for good.
    const socketOptions = {
      clientProperties: { connection_name: this.o.name },
      timeout: this.o.connectTimeoutMs,
    };
    const model = await connect(this.o.url, socketOptions as Options.Connect);
    // Without an 'error' listener a broker-side close would crash the process.
    model.on('error', (error: Error) =>
      this.o.logger?.warn({ err: error, connection: this.o.name }, 'RabbitMQ connection error'),
    );
    let lost = false;
    model.on('close', () => {
      lost = true;
      if (this.current?.model !== model) return;
      this.current = undefined;
      if (!this.closed) void this.reconnect();
    });
    let publisher: ConfirmChannel;
    try {
      publisher = await this.openPublisher(model);
      // A close read in the same chunk as the channel's open-ok came before this session was
      // current, so its handler did not reconnect: count it as a failed attempt.
      if (lost) throw new Error('the connection closed while it was being opened');
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await model.close().catch(() => undefined);
      return;
    }
    this.current = { model, publisher };
    this.wake();
  }

  private async openPublisher(model: ChannelModel): Promise<ConfirmChannel> {
    const publisher = await model.createConfirmChannel();
    publisher.on('error', (error: Error) =>
      this.o.logger?.warn({ err: error }, 'RabbitMQ publishing channel error'),
    );
    // A channel-level error (not the connection's) closes only the channel: open another.
    publisher.on('close', () => {
      const session = this.current;
      if (this.closed || session?.publisher !== publisher) return;
      void this.openPublisher(model).then(
        (next) => {
          if (this.current === session) this.current = { model, publisher: next };
        },
        () => undefined,
      );
    });
    return publisher;
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      await sleepFor(backoffDelay(attempt, this.o.reconnect) + 1);
      if (this.closed) return;
      try {
        await this.connectOnce();
      } catch (error) {
        this.o.logger?.warn({ err: error, attempt }, 'RabbitMQ reconnection failed; retrying');
        continue;
      }
      const session = this.current;
      if (!session) return;
      this.reconnections += 1;
      this.o.logger?.info({ connection: this.o.name, attempt }, 'RabbitMQ reconnected');
      for (const listener of [...this.listeners]) {
        try {
          await listener(session);
        } catch (error) {
          this.o.logger?.error({ err: error }, 'could not restore a consumer after reconnecting');
        }
      }
      return;
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
