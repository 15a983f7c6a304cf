import type { ExpectedRevision } from '@causewayjs/core';
import { CliInputError, CliUsageError } from './cli-errors.js';

/** Parses a JSON command-line argument, naming it when it is not JSON. */
export function parseJsonArgument(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliInputError(
      `${what} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/** Parses a JSON object argument (metadata, say). */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  const value = parseJsonArgument(text, what);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliInputError(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** Parses a non-negative integer option (a position, a revision, a limit). */
export function parseCount(text: string, what: string, min = 0): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min)
    throw new CliUsageError(`${what} must be an integer >= ${min}, got "${text}"`);
  return n;
}

/** Parses `--expected-revision`: `any`, `no_stream`, `stream_exists` or a revision. */
export function parseExpectedRevision(text: string): ExpectedRevision {
  if (text === 'any' || text === 'no_stream' || text === 'stream_exists') return text;
  return parseCount(text, '--expected-revision');
}

/** Parses a list of positions (`12 57` or `12,57`). */
export function parsePositions(values: readonly string[]): number[] {
  return values
    .flatMap((v) => v.split(','))
    .filter((v) => v.trim() !== '')
    .map((v) => parseCount(v, 'position', 1));
}
