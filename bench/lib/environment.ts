import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';

/** What a result was measured on, stored with it so numbers are never read out of context. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  platform: string;
  arch: string;
  node: string;
  date: string;
}

/** Describes this machine and process now. */
export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryBytes: totalmem(),
    platform: `${platform()} ${release()}`,
    arch: arch(),
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** The 1, 5 and 15 minute load averages, rounded to two decimals. */
export function loadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = loadavg().map((v) => Math.round(v * 100) / 100);
  return [one, five, fifteen];
}

/** The commit the benchmark ran on, and whether the working tree differed from it. */
export interface GitInfo {
  commit: string | null;
  /**
   * True when tracked files had uncommitted changes (the figures may not match `commit`).
   * Result files and docs are left out: benchmarks run one after another rewrite them, and
   * they change no figure.
   */
  dirty: boolean | null;
}

/** Reads the checkout's commit; nulls outside a git checkout. */
export function gitInfo(root: string): GitInfo {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git(['rev-parse', 'HEAD']).trim();
    const dirty =
      git([
        'status',
        '--porcelain',
        '--untracked-files=no',
        '--',
        '.',
        ':(exclude)bench/results',
        ':(exclude)docs',
      ]).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/**
 * Packages whose versions every result records: Causeway's own, the drivers, and the
 * peers when `npm run bench:peers` installed them (absent ones are left out).
 */
export const RECORDED_PACKAGES = [
  '@causewayjs/core',
  '@causewayjs/sqlite',
  '@causewayjs/postgres',
  'better-sqlite3',
  'pg',
  '@event-driven-io/emmett',
  '@event-driven-io/emmett-sqlite',
  '@event-driven-io/emmett-postgresql',
  'sqlite3',
] as const;

/**
 * Installed versions of `names`, looked up in the root `node_modules` and then in
 * `bench/node_modules` (the opt-in peers). Workspace packages resolve through their link.
 */
export function packageVersions(root: string, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    for (const dir of [join(root, 'node_modules'), join(root, 'bench', 'node_modules')]) {
      const file = join(dir, name, 'package.json');
      if (!existsSync(file)) continue;
      out[name] = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
      break;
    }
  }
  return out;
}

/** The SQLite library better-sqlite3 is built with, or why it could not be asked. */
export async function sqliteVersion(): Promise<string> {
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    try {
      return db.prepare<[], { v: string }>('SELECT sqlite_version() AS v').get()?.v ?? 'unknown';
    } finally {
      db.close();
    }
  } catch (error) {
    return `unavailable: ${(error as Error).message}`;
  }
}

/** The PostgreSQL server's version (`SHOW server_version`), or why it did not answer. */
export async function postgresVersion(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return result.rows[0]?.server_version ?? 'unknown';
  } catch (error) {
    return `unreachable: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
