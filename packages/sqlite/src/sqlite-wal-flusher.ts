import fs from 'node:fs';
import { StoreUnavailableError } from '@causewayjs/core';

/**
 * Makes commits durable off the event loop. A connection that commits at `synchronous =
 * NORMAL` writes its WAL frames without flushing them; the flusher then flushes the `-wal`
 * file (`fdatasync`) on libuv's thread pool, and a commit counts as durable once a flush that
 * began after it has ended. That is the flush `synchronous = FULL` makes inside every commit,
 * blocking the event loop: here the loop goes on meanwhile, and commits made during one
 * flush share the next.
 *
 * A failed flush fails every later one too: after a failed `fdatasync` the kernel may have
 * dropped the unwritten pages, so no later flush can vouch for them.
 */
export class SqliteWalFlusher {
  private fd: number | undefined;
  private closed = false;
  /** Commits since the last flush began. */
  private dirty = false;
  /** The flush under way, if any. */
  private running: Promise<void> | undefined;
  /** The flush that starts when the running one ends, for commits made since it began. */
  private queued: { promise: Promise<void>; start: () => void } | undefined;
  private failure: StoreUnavailableError | undefined;

  /**
   * Opens the `-wal` file, which must exist (a connection in WAL mode has made it).
   *
   * @throws the file system's error when it cannot be opened.
   */
  constructor(
    /** The `-wal` file of the database. */
    private readonly walFile: string,
  ) {
    this.fd = fs.openSync(walFile, 'r+');
  }

  /** Records a commit made without a flush of its own. */
  committed(): void {
    this.dirty = true;
  }

  /** The error of a failed flush, once one failed: the store must not commit again. */
  get failed(): StoreUnavailableError | undefined {
    return this.failure;
  }

  /** Whether commits were recorded since the last flush began. */
  get pending(): boolean {
    return this.dirty;
  }

  /**
   * Takes no more writes from now on, for `cause` (a connection that cannot be trusted to
   * sync): every later flush fails, and so does {@link SqliteWalFlusher.failed}.
   */
  poison(cause: unknown): StoreUnavailableError {
    return this.fail(cause);
  }

  /** Whether a flush is under way or queued. */
  get busy(): boolean {
    return this.running !== undefined || this.queued !== undefined;
  }

  /**
   * Flushes now, on this thread (blocking it, as a commit at `synchronous = FULL` does):
   * every commit so far is durable when it returns.
   *
   * @throws {StoreUnavailableError} when the flush fails (and every later one, then).
   */
  flushNow(): void {
    if (this.failure) throw this.failure;
    if (this.fd === undefined) throw this.fail(new Error('the flusher is closed'));
    try {
      fs.fdatasyncSync(this.fd);
    } catch (cause) {
      throw this.fail(cause);
    }
    this.dirty = false;
  }

  /**
   * A promise that settles once every commit recorded so far is durable (rejecting with a
   * {@link StoreUnavailableError} if a flush failed), or undefined when they all are.
   */
  durable(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    // Closed: the store made what was left durable before (see its release).
    if (this.closed) return undefined;
    if (!this.dirty) return this.queued?.promise ?? this.running;
    this.dirty = false;
    if (!this.running) return this.start();
    if (!this.queued) {
      let start!: () => void;
      const promise = new Promise<void>((resolve, reject) => {
        start = () => void this.start().then(resolve, reject);
      });
      this.queued = { promise, start };
    }
    return this.queued.promise;
  }

  /**
   * Closes the file for good; later calls to {@link SqliteWalFlusher.durable} find nothing to
   * do. Await {@link SqliteWalFlusher.settled} (and flush what is pending) first.
   */
  close(): void {
    this.closed = true;
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      // Nothing is left to flush through it.
    }
  }

  /** Resolves once no flush is under way or queued (whatever their outcome). */
  async settled(): Promise<void> {
    while (this.running || this.queued) {
      await (this.queued?.promise ?? this.running)?.catch(() => undefined);
    }
  }

  private start(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const fd = this.fd;
    const running = new Promise<void>((resolve, reject) => {
      if (fd === undefined) reject(new Error('the flusher is closed'));
      else fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
    }).then(
      () => this.startQueued(),
      (cause: unknown) => {
        const failure = this.fail(cause);
        // The queued flush starts only to fail with it: its waiters hear of the failure.
        this.startQueued();
        throw failure;
      },
    );
    this.running = running;
    return running;
  }

  /** The running flush ended: the one queued for commits made meanwhile starts. */
  private startQueued(): void {
    this.running = undefined;
    const next = this.queued;
    this.queued = undefined;
    next?.start();
  }

  private fail(cause: unknown): StoreUnavailableError {
    this.failure ??= new StoreUnavailableError(
      `Cannot flush the SQLite write-ahead log "${this.walFile}" to disk: commits since the last flush may be lost on power failure, and the store takes no more writes (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    );
    return this.failure;
  }
}
