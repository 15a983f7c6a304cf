import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, release, arch } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The repository root (the folder holding `bench/`). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Writes `bench/results/<name>.json` with the machine description first, and returns the
 * path relative to the repository root (for printing: no absolute paths in output).
 */
export async function writeResults(name: string, payload: object): Promise<string> {
  const file = join(repoRoot, 'bench', 'results', `${name}.json`);
  await mkdir(dirname(file), { recursive: true });
  const body = { benchmark: name, machine: machineInfo(), ...payload };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return relative(repoRoot, file);
}
