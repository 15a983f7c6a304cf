import { assertSubjectPattern } from '@causewayjs/core';

/**
 * The AMQP topic binding key of a Causeway subject pattern below `prefix`. Causeway subjects
 * are NATS-style and so are AMQP routing keys (dot-separated words); the wildcards differ:
 * `*` is one word in both, while Causeway's trailing `>` (one or more tokens) becomes `*.#`
 * (one word, then zero or more), since AMQP's `#` alone also matches zero words. A literal
 * `#` token, which no Causeway subject can hold (subject tokens are made of letters, digits,
 * `_` and `-`), is kept from becoming a wildcard.
 *
 * @example
 * ```ts
 * topicBindingKey('shop', 'order.>'); // 'shop.order.*.#'
 * topicBindingKey('shop', '*.order.shipped'); // 'shop.*.order.shipped'
 * ```
 * @throws {InvalidSubjectPatternError} for a pattern that is not valid.
 */
export function topicBindingKey(prefix: string, pattern: string): string {
  assertSubjectPattern(pattern);
  const words = pattern
    .split('.')
    .map((token) => (token === '>' ? '*.#' : token === '#' ? '%23' : token));
  return `${prefix}.${words.join('.')}`;
}
