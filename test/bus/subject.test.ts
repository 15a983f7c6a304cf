import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidSubjectPatternError,
  InvalidSubjectPrefixError,
  assertSubjectPattern,
  assertSubjectPrefix,
  matchSubject,
  relativeSubject,
  streamCategory,
  subjectFor,
  subjectToken,
} from '@causewayjs/core';

const token = fc.stringMatching(/^[a-z0-9_-]{1,6}$/);
const subject = fc.array(token, { minLength: 1, maxLength: 6 }).map((t) => t.join('.'));

describe('subject mapping', () => {
  it('maps an event to <prefix>.<category>.<type tokens>', () => {
    expect(subjectFor('shop', { stream: 'order-42', type: 'order.placed' })).toBe(
      'shop.order.order.placed',
    );
    expect(relativeSubject({ stream: 'inventory', type: 'stock.reserved' })).toBe(
      'inventory.stock.reserved',
    );
    expect(relativeSubject({ stream: 'order-a-b', type: 'placed' })).toBe('order.placed');
  });

  it('takes the category before the first dash', () => {
    expect(streamCategory('order-42')).toBe('order');
    expect(streamCategory('order')).toBe('order');
    expect(streamCategory('-x')).toBe('');
  });

  it('replaces what NATS forbids or does not port, and never leaves an empty token', () => {
    expect(subjectToken('a b')).toBe('a_b');
    expect(subjectToken('a*b>c')).toBe('a_b_c');
    expect(subjectToken('é')).toBe('_');
    expect(subjectToken('')).toBe('_');
    expect(relativeSubject({ stream: '-1', type: 'a..b.' })).toBe('_.a._.b._');
  });

  it('always yields a valid, literal subject that matches itself and >', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (stream, type) => {
        const s = relativeSubject({ stream, type });
        expect(s).toMatch(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/);
        expect(() => assertSubjectPattern(s)).not.toThrow();
        expect(matchSubject(s, s)).toBe(true);
        expect(matchSubject('>', s)).toBe(true);
        expect(matchSubject(`${s.split('.')[0] ?? ''}.>`, s)).toBe(true);
      }),
    );
  });
});

describe('matchSubject', () => {
  it.each([
    ['order.*', 'order.placed', true],
    ['order.*', 'order.order.placed', false],
    ['order.>', 'order.order.placed', true],
    ['order.>', 'order', false],
    ['*.order.placed', 'order.order.placed', true],
    ['*.order.placed', 'order.order.shipped', false],
    ['order.*.placed', 'order.x.placed', true],
    ['>', 'a', true],
    ['*', 'a.b', false],
    ['a.b', 'a.b', true],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b', false],
  ])('%s against %s is %s', (pattern, s, expected) => {
    expect(matchSubject(pattern, s)).toBe(expected);
  });

  it('a literal pattern matches only itself', () => {
    fc.assert(
      fc.property(subject, subject, (a, b) => {
        expect(matchSubject(a, b)).toBe(a === b);
      }),
    );
  });

  it('* stands for exactly one token, > for one or more at the end', () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 2, maxLength: 6 }), fc.nat(), (tokens, pick) => {
        const i = pick % tokens.length;
        const s = tokens.join('.');
        const star = tokens.map((t, j) => (j === i ? '*' : t)).join('.');
        expect(matchSubject(star, s)).toBe(true);
        expect(matchSubject(star, `${s}.extra`)).toBe(false);
        const head = tokens.slice(0, i).join('.');
        const tail = head === '' ? '>' : `${head}.>`;
        expect(matchSubject(tail, s)).toBe(true);
        expect(matchSubject(`${s}.>`, s)).toBe(false);
      }),
    );
  });

  it('agrees with a reference regular expression', () => {
    const pattern = fc
      .array(fc.oneof(token, fc.constant('*')), { minLength: 1, maxLength: 5 })
      .chain((tokens) => fc.boolean().map((tail) => (tail ? [...tokens, '>'] : tokens).join('.')));
    fc.assert(
      fc.property(pattern, subject, (p, s) => {
        const re = new RegExp(
          `^${p
            .split('.')
            .map((t) => (t === '*' ? '[^.]+' : t === '>' ? '[^.]+(\\.[^.]+)*' : t))
            .join('\\.')}$`,
        );
        expect(matchSubject(p, s)).toBe(re.test(s));
      }),
    );
  });
});

describe('validation', () => {
  it('refuses malformed patterns', () => {
    for (const bad of ['', 'a..b', '.a', 'a.', 'a.>.b', 'a*', '>a', 'a b', 3, null]) {
      expect(() => assertSubjectPattern(bad)).toThrow(InvalidSubjectPatternError);
    }
    for (const good of ['a', '*', '>', 'a.*.c', 'a.>', '*.*.>']) {
      expect(() => assertSubjectPattern(good)).not.toThrow();
    }
  });

  it('refuses prefixes with wildcards or odd characters', () => {
    for (const bad of ['', 'a.*', 'a.>', 'a..b', 'a b', 'é', 7]) {
      expect(() => assertSubjectPrefix(bad)).toThrow(InvalidSubjectPrefixError);
    }
    expect(() => assertSubjectPrefix('shop.events-1')).not.toThrow();
  });
});
