import { describe, expect, it } from 'vitest';
import { NotJsonError } from './errors.js';
import { encodeJson } from './json-codec.js';

function refusalPath(value: unknown): string | undefined {
  try {
    encodeJson(value);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(NotJsonError);
    return (e as NotJsonError).path;
  }
}

describe('encodeJson', () => {
  it('accepts an object met twice on different paths: only a cycle is refused', () => {
    const shared = { n: 1 };
    const value = { a: shared, b: [shared, { c: shared }] };
    expect(encodeJson(value)).toBe(JSON.stringify(value));
  });

  it('finds a cycle deep down, after siblings that went as deep, naming its path', () => {
    const loop: Record<string, unknown> = { x: 1 };
    loop.back = { again: loop };
    const value = { first: { a: { b: { c: 1 } } }, second: [{ loop }] };
    expect(refusalPath(value)).toBe('$.second[0].loop.back.again');
  });

  it('works again after a refusal, and from inside a getter of a value being encoded', () => {
    expect(refusalPath({ bad: 1n })).toBe('$.bad');
    expect(encodeJson({ ok: [1, 2] })).toBe('{"ok":[1,2]}');
    const inner = { deep: { deeper: 'x' } };
    const value = {
      before: { a: { b: 1 } },
      get nested() {
        return encodeJson(inner);
      },
      after: { c: [1, { d: 2 }] },
    };
    expect(encodeJson(value)).toBe(JSON.stringify(value));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const refusing = {
      get nested() {
        return refusalPath(cyclic);
      },
      after: { e: 1 },
    };
    expect(encodeJson(refusing)).toBe('{"nested":"$.self","after":{"e":1}}');
  });

  it('still finds a cycle back to the root after a getter encoded something of its own', () => {
    const root: Record<string, unknown> = {
      get nested() {
        return encodeJson({ a: { b: [1] } });
      },
    };
    root.after = { back: root };
    expect(refusalPath(root)).toBe('$.after.back');
  });
});
