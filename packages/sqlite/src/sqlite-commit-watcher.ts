import { type FSWatcher, watch } from 'node:fs';
import type Database from 'better-sqlite3';

/**
 * How a SQLite store's commit watcher learns of other connections' commits: `'idle'` (not
 * started), `'file'` (a file watch of the `-wal` file, with the slow poll as a safety net),
 * `'polling'` (the poll alone: the watch could not be set up, or was turned off).
 */
export type SqliteWatchState = 'idle' | 'file' | 'polling';

/** Counters of a SQLite store's commit watcher, for tests and diagnostics. */
export interface SqliteWatchStats {
  /** `PRAGMA data_version` reads. */
  checks: number;
  /** Reads that found the version changed: another connection committed. */
  changes: number;
  /** Changes first seen by a check that a file event started (not by the slow poll). */
  changesAfterFileEvent: number;
  /** Events of the file watch (writes to the `-wal` file). */
  fileEvents: number;
}

/** Settings of a `SqliteCommitWatcher`. */
export interface SqliteCommitWatcherOptions {
  /** The connection whose `PRAGMA data_version` is read (the store's own). */
  database: Database.Database;
  /** The database file; its `-wal` file is watched. */
  file: string;
  /** The slow poll's interval, in ms. */
  pollIntervalMs: number;
  /** Whether to watch the `-wal` file (off: the slow poll alone). */
  watchFile: boolean;
  /** Called when another connection has committed. */
  onChange: () => void;
}

/** How long after the last write to the `-wal` file checks keep running, in ms. */
const HOT_WINDOW_MS = 100;
/** The interval of those checks, in ms. */
const HOT_INTERVAL_MS = 1;

/**
 * Notices commits made to a SQLite file by other connections and processes, without reading
 * any table: `PRAGMA data_version` changes on a connection exactly when another connection
 * has committed, and reading it touches only the shared-memory index of the WAL.
 *
 * A commit writes its frames to the `-wal` file, syncs it, and only then publishes them in
 * the shared memory, which no file watch sees. So a write to the `-wal` file (an inotify or
 * FSEvents event) starts a short burst of checks, every millisecond for a tenth of a second
 * after the last write, which catches the commit as soon as it is published; when nothing is
 * written, nothing runs but the slow poll (`pollIntervalMs`), the safety net for file systems
 * whose watches miss writes (network mounts) and for a watch that could not be set up.
 */
export class SqliteCommitWatcher {
  private readonly version: Database.Statement<[], number>;
  private readonly walFile: string;
  private state: SqliteWatchState = 'idle';
  private last: number | undefined;
  private fileWatch: FSWatcher | undefined;
  private poller: ReturnType<typeof setInterval> | undefined;
  private hot: ReturnType<typeof setInterval> | undefined;
  private lastFileEvent = 0;
  private readonly counters: SqliteWatchStats = {
    checks: 0,
    changes: 0,
    changesAfterFileEvent: 0,
    fileEvents: 0,
  };

  constructor(private readonly options: SqliteCommitWatcherOptions) {
    this.version = options.database.prepare<[], number>('PRAGMA data_version').pluck();
    this.walFile = `${options.file}-wal`;
  }

  /** How commits are being noticed. */
  get watchState(): SqliteWatchState {
    return this.state;
  }

  /** A copy of the counters. */
  get stats(): SqliteWatchStats {
    return { ...this.counters };
  }

  /** Starts watching; the current version is the baseline. */
  start(): void {
    if (this.state !== 'idle') return;
    this.last = this.read();
    this.state = 'polling';
    this.watchWal();
    this.poller = setInterval(() => this.tick(), this.options.pollIntervalMs);
    // Watching alone never keeps the process alive.
    this.poller.unref();
  }

  /** Stops every timer and the file watch. */
  stop(): void {
    clearInterval(this.poller);
    clearInterval(this.hot);
    this.poller = undefined;
    this.hot = undefined;
    this.unwatchWal();
    this.state = 'idle';
  }

  /** The slow poll: a check, and another try at the file watch if it is down. */
  private tick(): void {
    if (this.state === 'polling') this.watchWal();
    this.check(false);
  }

  private watchWal(): void {
    if (!this.options.watchFile || this.fileWatch) return;
    try {
      const fileWatch = watch(this.walFile, { persistent: false }, (kind) => {
        // Renamed or deleted: the watch follows the old inode; the poll sets up a new one.
        if (kind === 'rename') this.unwatchWal();
        this.onFileEvent();
      });
      fileWatch.on('error', () => this.unwatchWal());
      fileWatch.unref();
      this.fileWatch = fileWatch;
      this.state = 'file';
    } catch {
      // No -wal file yet, or no watches left (ENOSPC): the poll goes on and tries again.
    }
  }

  private unwatchWal(): void {
    this.fileWatch?.close();
    this.fileWatch = undefined;
    if (this.state === 'file') this.state = 'polling';
  }

  private onFileEvent(): void {
    if (this.state === 'idle') return;
    this.counters.fileEvents += 1;
    this.lastFileEvent = performance.now();
    this.check(true);
    if (this.hot) return;
    this.hot = setInterval(() => {
      this.check(true);
      if (performance.now() - this.lastFileEvent > HOT_WINDOW_MS) {
        clearInterval(this.hot);
        this.hot = undefined;
      }
    }, HOT_INTERVAL_MS);
    this.hot.unref();
  }

  private check(afterFileEvent: boolean): void {
    if (this.state === 'idle') return;
    const version = this.read();
    if (version === undefined || version === this.last) return;
    this.last = version;
    this.counters.changes += 1;
    if (afterFileEvent) this.counters.changesAfterFileEvent += 1;
    this.options.onChange();
  }

  private read(): number | undefined {
    if (!this.options.database.open) return undefined;
    this.counters.checks += 1;
    try {
      return this.version.get();
    } catch {
      return undefined; // Busy or closing: the next check looks again.
    }
  }
}
