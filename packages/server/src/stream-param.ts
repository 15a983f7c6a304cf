import { InvalidStreamNameError } from '@causewayjs/core';
import { assertStreamName } from '@causewayjs/core/internals';

/**
 * Checks a stream name taken from a URL (already percent-decoded) before it reaches the
 * store: the store's own rules, plus no `/` or `\` (an encoded `%2F` must not turn one path
 * segment into two) and no `.` / `..` names, so a name can never be read as a path trick.
 *
 * @throws {InvalidStreamNameError} naming the rule broken.
 */
export function streamParam(value: unknown): string {
  assertStreamName(value);
  if (value === '.' || value === '..')
    throw new InvalidStreamNameError(value, '"." and ".." are not stream names');
  if (/[/\\]/.test(value)) throw new InvalidStreamNameError(value, 'must not contain "/" or "\\"');
  return value;
}
