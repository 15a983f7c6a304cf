import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../core/errors.js';
import { checkErasure, erasableTexts } from './subject-eraser.js';

describe('erasableTexts', () => {
  it('collects string leaves, as written and as JSON escapes them, longest first', () => {
    expect(
      erasableTexts([
        'ada@example.com',
        { street: 'Rue "Haute" 1', city: 'Lyon', zip: 69001, vip: true },
        ['Ada', 'Lovelace'],
      ]),
    ).toEqual(['Rue \\"Haute\\" 1', 'ada@example.com', 'Rue "Haute" 1', 'Lovelace', 'Lyon', 'Ada']);
  });

  it('leaves out what would match unrelated data or JSON structure', () => {
    expect(erasableTexts(['no', 'null', 'true', '12345', '3.5e10', '{}', 42, false, null])).toEqual(
      [],
    );
  });
});

describe('checkErasure', () => {
  it('refuses values that are not non-empty strings, and drops those inside the replacement', () => {
    expect(() => checkErasure([''], 'x')).toThrow(InvalidArgumentError);
    expect(() => checkErasure('abc' as never, 'x')).toThrow(InvalidArgumentError);
    expect(() => checkErasure(['abc'], 1 as never)).toThrow(InvalidArgumentError);
    expect(checkErasure(['red', 'ada'], '[redacted]')).toEqual(['ada']);
  });
});
