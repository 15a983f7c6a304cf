import type { RecordedEvent } from '../core/envelope.js';
import { InvalidSubjectPatternError, InvalidSubjectPrefixError } from './bus-errors.js';

/** The subject prefix buses use unless told otherwise. */
export const DEFAULT_SUBJECT_PREFIX = 'causeway';

/** Characters a subject token keeps as they are; every other character becomes `_`. */
const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;
const UNSAFE_CHAR = /[^A-Za-z0-9_-]/g;

/**
 * Makes one subject token from any text: characters other than ASCII letters, digits, `_`
 * and `-` (NATS forbids `.`, `*`, `>` and whitespace inside a token; other punctuation and
 * non-ASCII letters are legal but not portable) are replaced by `_`, and an empty token
 * becomes `_`. Lossy on purpose: subjects route messages; the envelope keeps the exact names.
 *
 * @example
 * ```ts
 * subjectToken('café au lait'); // 'caf__au_lait'
 * ```
 */
export function subjectToken(text: string): string {
  if (text.length === 0) return '_';
  return SAFE_TOKEN.test(text) ? text : text.replace(UNSAFE_CHAR, '_');
}

/**
 * The category of a stream: its name before the first `-` (`order-42` → `order`), or the
 * whole name when it has no `-`.
 */
export function streamCategory(stream: string): string {
  const dash = stream.indexOf('-');
  return dash < 0 ? stream : stream.slice(0, dash);
}

/**
 * The subject of an event below the prefix: `<category>.<type tokens>`, where the type's
 * dots separate tokens and each token is made safe by {@link subjectToken}.
 *
 * @example
 * ```ts
 * relativeSubject({ stream: 'order-42', type: 'order.placed' }); // 'order.order.placed'
 * ```
 */
export function relativeSubject(event: Pick<RecordedEvent, 'stream' | 'type'>): string {
  const category = subjectToken(streamCategory(event.stream));
  const type = event.type.split('.').map(subjectToken).join('.');
  return `${category}.${type}`;
}

/**
 * The full subject of an event: `<prefix>.<category>.<type>`.
 *
 * @example
 * ```ts
 * subjectFor('shop', { stream: 'order-42', type: 'order.placed' }); // 'shop.order.order.placed'
 * ```
 */
export function subjectFor(prefix: string, event: Pick<RecordedEvent, 'stream' | 'type'>): string {
  return `${prefix}.${relativeSubject(event)}`;
}

/**
 * Checks a subject prefix: one or more tokens of ASCII letters, digits, `_` and `-`,
 * separated by dots.
 *
 * @throws {InvalidSubjectPrefixError}
 */
export function assertSubjectPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length === 0)
    throw new InvalidSubjectPrefixError(prefix, 'must be a non-empty string');
  for (const token of prefix.split('.')) {
    if (!SAFE_TOKEN.test(token))
      throw new InvalidSubjectPrefixError(
        prefix,
        'tokens must be non-empty and use only ASCII letters, digits, "_" and "-"',
      );
  }
}

/**
 * Checks a NATS-style subject pattern: non-empty tokens separated by dots, where `*` (as a
 * whole token) matches exactly one token and `>` (as the last token) matches one or more.
 * Tokens may not contain whitespace, and `*` or `>` only as a whole token.
 *
 * @throws {InvalidSubjectPatternError}
 */
export function assertSubjectPattern(pattern: unknown): asserts pattern is string {
  if (typeof pattern !== 'string' || pattern.length === 0)
    throw new InvalidSubjectPatternError(pattern, 'must be a non-empty string');
  const tokens = pattern.split('.');
  tokens.forEach((token, i) => {
    if (token.length === 0)
      throw new InvalidSubjectPatternError(pattern, 'has an empty token (".." or a dot at an end)');
    if (/\s/.test(token)) throw new InvalidSubjectPatternError(pattern, 'contains whitespace');
    if (token === '>' && i !== tokens.length - 1)
      throw new InvalidSubjectPatternError(pattern, '">" may only be the last token');
    if (token !== '*' && token !== '>' && /[*>]/.test(token))
      throw new InvalidSubjectPatternError(pattern, '"*" and ">" may only be whole tokens');
  });
}

/**
 * Whether `subject` matches the NATS-style `pattern` (`*` one token, `>` one or more
 * trailing tokens). Both are taken as already valid (see {@link assertSubjectPattern}).
 *
 * @example
 * ```ts
 * matchSubject('order.>', 'order.order.placed'); // true
 * matchSubject('order.*', 'order.order.placed'); // false: * is exactly one token
 * ```
 */
export function matchSubject(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}
