import { v5 as uuidv5 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { CAUSEWAY_ID_NAMESPACE, deterministicId } from './deterministic-id.js';

describe('deterministicId', () => {
  it('gives the ids uuid v5 gives for the same name (ids recorded before stay recognised)', () => {
    const cases = [
      ['order-fulfilment', 'o-42', '0190a3c2-7b7e-7cc0-8a55-1f2e3d4c5b6a', 'send', '0'],
      ['s', ''],
      ['ünïcødé ✓', '日本語', '🚚 emoji'],
      Array.from({ length: 40 }, (_, i) => `part-${i}-${'x'.repeat(i)}`),
    ];
    for (const parts of cases) {
      const name = parts.map((p) => `${p.length}:${p}`).join('|');
      expect(deterministicId(...parts)).toBe(uuidv5(name, CAUSEWAY_ID_NAMESPACE));
    }
  });

  it('is a version 5, RFC variant UUID that differs when a part differs', () => {
    const id = deterministicId('a', 'b');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicId('a', 'b')).toBe(id);
    expect(deterministicId('ab')).not.toBe(id);
    expect(deterministicId('a', 'c')).not.toBe(id);
  });
});
