import { afterEach, describe, expect, it, vi } from 'vitest';
import { version, validate } from 'uuid';
import { isUuid, newId } from './ids.js';

/** The 48-bit millisecond timestamp at the front of a UUIDv7. */
function msOf(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

describe('newId', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('makes canonical lowercase UUIDv7s with the RFC 9562 variant and the current time', () => {
    const before = Date.now();
    const ids = Array.from({ length: 2000 }, newId);
    const after = Date.now();
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(validate(id) && version(id) === 7 && isUuid(id)).toBe(true);
      expect(msOf(id)).toBeGreaterThanOrEqual(before);
      expect(msOf(id)).toBeLessThanOrEqual(after + 1);
    }
  });

  it('makes strictly increasing ids, across more random pools than one', () => {
    const ids = Array.from({ length: 5000 }, newId);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps increasing within one millisecond and when the clock steps back', () => {
    const now = Date.now() + 60_000;
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
    const same = Array.from({ length: 1000 }, newId);
    clock.mockReturnValue(now - 5_000);
    const back = Array.from({ length: 10 }, newId);
    const ids = [...same, ...back];
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(ids.every((id) => msOf(id) === now)).toBe(true);
  });

  it('differs in its random bits from one millisecond to the next', () => {
    const clock = vi.spyOn(Date, 'now');
    const tails = new Set<string>();
    for (let ms = 1; ms <= 200; ms++) {
      clock.mockReturnValue(Date.UTC(2100, 0, 1) + ms);
      tails.add(newId().slice(14));
    }
    expect(tails.size).toBe(200);
  });
});
