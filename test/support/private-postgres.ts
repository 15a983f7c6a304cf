import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { vi } from 'vitest';
import { freePort } from '../nats/own-nats-server.js';

const run = promisify(execFile);

/** The PostgreSQL server binaries (`pg_config --bindir`), or why they cannot be used. */
function findBinaries(): { bindir: string } | { missing: string } {
  let bindir: string;
  try {
    bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return { missing: 'pg_config is not on the PATH' };
  }
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(bindir, tool))) return { missing: `${join(bindir, tool)} is missing` };
  }
  return { bindir };
}

const binaries = findBinaries();

/**
 * Whether a private cluster can be started here. When it cannot: under `CI=true` this throws
 * (a CI run must not pass by skipping); elsewhere it prints one line saying why and returns
 * false, and the caller skips its tests.
 */
export function privatePostgresAvailable(): boolean {
  if ('bindir' in binaries) return true;
  const message = `cannot start a private PostgreSQL cluster: ${binaries.missing}`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING private PostgreSQL tests: ${message}`);
  return false;
}

/** Root cannot run the server: commands then run as the `postgres` user. */
const asRoot = userInfo().uid === 0;

/**
 * A PostgreSQL cluster of a test's own: `initdb` into a temporary directory, trust auth,
 * listening on 127.0.0.1 at a free port (and a socket in that directory), so a test can stop
 * and restart it without touching the shared server. Always {@link cleanup} it (in
 * `afterAll`), which stops it and removes the directory.
 *
 * @example
 * ```ts
 * const cluster = await PrivatePostgres.start();
 * afterAll(() => cluster.cleanup());
 * await cluster.restart(); // pg_ctl restart -m fast
 * ```
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bindir: string,
  ) {}

  /** Creates the cluster and starts it; resolves once it accepts connections. */
  static async start(): Promise<PrivatePostgres> {
    if (!('bindir' in binaries)) throw new Error(`no PostgreSQL binaries: ${binaries.missing}`);
    const dir = mkdtempSync(join(tmpdir(), 'causeway-private-pg-'));
    const cluster = new PrivatePostgres(await freePort(), dir, binaries.bindir);
    try {
      if (asRoot) chownSync(dir, ...postgresIds());
      await cluster.tool('initdb', [
        '-D',
        cluster.dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--no-sync',
      ]);
      await cluster.start();
    } catch (error) {
      await cluster.cleanup();
      throw error;
    }
    return cluster;
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Starts the server (`pg_ctl start -w`) and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.pgCtl(['start', '-o', this.serverOptions()]);
    await this.waitUntilReady();
  }

  /** Stops the server (`pg_ctl stop`), `fast` by default (backends are terminated). */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pgCtl(['stop', '-m', mode]);
  }

  /** `pg_ctl restart -m <mode>`: every connection is ended; resolves once it is back. */
  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pgCtl(['restart', '-m', mode, '-o', this.serverOptions()]);
    await this.waitUntilReady();
  }

  /** Stops the server if it runs and removes its directory; never throws. */
  async cleanup(): Promise<void> {
    if (existsSync(join(this.dataDir, 'postmaster.pid')))
      await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private serverOptions(): string {
    return [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=40',
      '-c shared_buffers=16MB',
      // A clean restart writes everything out anyway; this spares a shared machine's disk.
      '-c fsync=off',
    ].join(' ');
  }

  /** `pg_ctl -w` waits for the server already; this proves it answers a query too. */
  private async waitUntilReady(): Promise<void> {
    await vi.waitFor(
      async () => {
        const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('SELECT 1');
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      { timeout: 30_000, interval: 50 },
    );
  }

  private pgCtl(args: string[]): Promise<void> {
    return this.tool('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      ...args,
    ]);
  }

  private async tool(name: string, args: string[]): Promise<void> {
    const binary = join(this.bindir, name);
    const [command, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', binary, ...args]]
      : [binary, args];
    try {
      await run(command, argv, { cwd: this.dir, timeout: 60_000 });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${name} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, {
        cause: error,
      });
    }
  }
}

/** The uid and gid of the `postgres` user. */
function postgresIds(): [number, number] {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return [uid, gid];
}
