import { InvalidArgumentError } from '@causewayjs/core';
import { InvalidTopicPatternError } from './mqtt-errors.js';

/** What a topic pattern captured from a topic it matched. */
export interface TopicMatch {
  /** The topic itself. */
  topic: string;
  /** Named wildcards (`+device`, `#rest`) by name; a `#` capture joins its levels with `/`. */
  captures: Record<string, string>;
  /** Every wildcard's capture, named or not, in order. */
  wildcards: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An MQTT topic filter whose wildcards may carry names: `devices/+device/telemetry/#rest`.
 * `+` matches one level, `#` (last only) the rest, zero levels included; a name after the
 * wildcard makes its match a capture. The plain filter (names dropped) is what is subscribed.
 * As in MQTT, wildcards at the first level do not match topics that start with `$`.
 *
 * @example
 * ```ts
 * const p = new TopicPattern('devices/+device/telemetry');
 * p.filter; // 'devices/+/telemetry'
 * p.match('devices/d-7/telemetry')?.captures; // { device: 'd-7' }
 * ```
 */
export class TopicPattern {
  /** The MQTT topic filter to subscribe to. */
  readonly filter: string;
  /** The capture names, in order. */
  readonly names: readonly string[];
  private readonly levels: readonly { kind: 'literal' | '+' | '#'; text: string }[];

  /** @throws {InvalidTopicPatternError} when `pattern` is not a topic filter with named wildcards. */
  constructor(readonly pattern: string) {
    if (typeof pattern !== 'string' || pattern.length === 0)
      throw new InvalidTopicPatternError(String(pattern), 'must be a non-empty string');
    if (pattern.includes('\u0000'))
      throw new InvalidTopicPatternError(pattern, 'must not contain U+0000');
    const parts = pattern.split('/');
    const names: string[] = [];
    this.levels = parts.map((part, i) => {
      const kind = part.startsWith('+') ? '+' : part.startsWith('#') ? '#' : 'literal';
      if (kind === 'literal') {
        if (part.includes('+') || part.includes('#'))
          throw new InvalidTopicPatternError(pattern, `level ${i + 1} mixes a wildcard with text`);
        return { kind, text: part };
      }
      if (kind === '#' && i !== parts.length - 1)
        throw new InvalidTopicPatternError(pattern, '# must be the last level');
      const name = part.slice(1);
      if (name.length > 0) {
        if (!NAME.test(name))
          throw new InvalidTopicPatternError(
            pattern,
            `capture name ${JSON.stringify(name)} must be letters, digits and _ (not first a digit)`,
          );
        if (names.includes(name))
          throw new InvalidTopicPatternError(pattern, `capture name "${name}" is used twice`);
        names.push(name);
      }
      return { kind, text: name };
    });
    this.names = names;
    this.filter = this.levels.map((l) => (l.kind === 'literal' ? l.text : l.kind)).join('/');
  }

  /** The captures of `topic` when the pattern matches it, else `undefined`. */
  match(topic: string): TopicMatch | undefined {
    const parts = topic.split('/');
    const captures: Record<string, string> = {};
    const wildcards: string[] = [];
    for (const [i, level] of this.levels.entries()) {
      if (i === 0 && level.kind !== 'literal' && topic.startsWith('$')) return undefined;
      if (level.kind === '#') {
        const rest = parts.slice(i).join('/');
        wildcards.push(rest);
        if (level.text) captures[level.text] = rest;
        return { topic, captures, wildcards };
      }
      const part = parts[i];
      if (part === undefined) return undefined;
      if (level.kind === 'literal') {
        if (part !== level.text) return undefined;
        continue;
      }
      wildcards.push(part);
      if (level.text) captures[level.text] = part;
    }
    return parts.length === this.levels.length ? { topic, captures, wildcards } : undefined;
  }
}

const PLACEHOLDER = /\{([^{}]+)\}/g;

/** The placeholder names of a `{name}` template, in order. */
export function templateNames(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/**
 * Fills the `{name}` placeholders of `template` with `lookup(name)`.
 *
 * @throws {InvalidArgumentError} when `lookup` has no value for a placeholder.
 */
export function fillTemplate(
  template: string,
  lookup: (name: string) => string | undefined,
): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = lookup(name);
    if (value === undefined)
      throw new InvalidArgumentError('template', `has no value for {${name}} in ${template}`);
    return value;
  });
}
