import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkCompatibility, type CompatibilityMode } from './compatibility.js';
import { toJsonSchema, type JsonSchema } from './json-schema.js';

const json = (schema: z.ZodType | JsonSchema) => toJsonSchema('test.happened', schema);
const check = (
  prev: z.ZodType | JsonSchema,
  next: z.ZodType | JsonSchema,
  mode: CompatibilityMode,
) => checkCompatibility(json(prev), json(next), mode, { previous: 'v1', next: 'v2' });
const changes = (
  prev: z.ZodType | JsonSchema,
  next: z.ZodType | JsonSchema,
  mode: CompatibilityMode,
) => check(prev, next, mode).map((i) => [i.direction, i.path, i.change]);

const base = z.object({ orderId: z.string(), total: z.number() });

describe('checkCompatibility', () => {
  describe('backward (the new schema reads old data)', () => {
    it('allows adding an optional field, or a required one with a default', () => {
      expect(check(base, base.extend({ note: z.string().optional() }), 'backward')).toEqual([]);
      expect(check(base, base.extend({ currency: z.string().default('EUR') }), 'backward')).toEqual(
        [],
      );
    });

    it('refuses adding a required field without a default, naming it', () => {
      const issues = check(base, base.extend({ currency: z.string() }), 'backward');
      expect(issues).toEqual([
        {
          direction: 'backward',
          path: '$.currency',
          change: 'required-added',
          message: 'field "currency" is required by v2 without a default, and v1 data may lack it',
        },
      ]);
    });

    it('refuses making an optional field required', () => {
      const prev = base.extend({ note: z.string().optional() });
      const next = base.extend({ note: z.string() });
      expect(changes(prev, next, 'backward')).toEqual([['backward', '$.note', 'required-added']]);
      expect(check(prev, next, 'backward')[0]?.message).toContain(
        'optional in v1 but required by v2',
      );
    });

    it('allows removing a field from an open object', () => {
      expect(check(base, z.object({ orderId: z.string() }), 'backward')).toEqual([]);
    });

    it('refuses removing a field from a closed object', () => {
      const prev = z.strictObject({ orderId: z.string(), total: z.number() });
      const next = z.strictObject({ orderId: z.string() });
      expect(changes(prev, next, 'backward')).toEqual([
        ['backward', '$.total', 'property-refused'],
      ]);
    });

    it('refuses closing an open object (additionalProperties: false)', () => {
      const next = z.strictObject({ orderId: z.string(), total: z.number() });
      expect(changes(base, next, 'backward')).toEqual([['backward', '$', 'content-model-closed']]);
    });

    it('refuses type changes and narrowing, allows widening', () => {
      expect(
        changes(base, z.object({ orderId: z.string(), total: z.string() }), 'backward'),
      ).toEqual([['backward', '$.total', 'type-changed']]);
      expect(
        check(base, z.object({ orderId: z.string(), total: z.string() }), 'backward')[0]?.message,
      ).toBe('type changed from number (v1) to string (v2)');
      // integer is a number: widening is fine, narrowing is not.
      const int = z.object({ orderId: z.string(), total: z.number().int() });
      const intJson = { type: 'object', properties: { total: { type: 'integer' } } };
      const numJson = { type: 'object', properties: { total: { type: 'number' } } };
      expect(check(intJson, numJson, 'backward')).toEqual([]);
      expect(changes(numJson, intJson, 'backward')).toEqual([
        ['backward', '$.total', 'type-changed'],
      ]);
      expect(check(base, int, 'backward').map((i) => i.change)).toContain('type-changed');
    });

    it('refuses dropping null from a nullable field', () => {
      const prev = z.object({ note: z.string().nullable() });
      expect(changes(prev, z.object({ note: z.string() }), 'backward')).toEqual([
        ['backward', '$.note', 'type-changed'],
      ]);
      expect(check(z.object({ note: z.string() }), prev, 'backward')).toEqual([]);
    });

    it('refuses narrowing an enum, naming the dropped values; allows widening it', () => {
      const prev = z.object({ status: z.enum(['open', 'paid', 'void']) });
      const issues = check(prev, z.object({ status: z.enum(['open', 'paid']) }), 'backward');
      expect(issues.map((i) => [i.path, i.change])).toEqual([['$.status', 'enum-narrowed']]);
      expect(issues[0]?.message).toBe('enum narrowed: "void" allowed by v1 but not by v2');
      expect(
        check(prev, z.object({ status: z.enum(['open', 'paid', 'void', 'held']) }), 'backward'),
      ).toEqual([]);
    });

    it('refuses adding an enum to a free string', () => {
      expect(
        changes(z.object({ s: z.string() }), z.object({ s: z.enum(['a']) }), 'backward'),
      ).toEqual([['backward', '$.s', 'enum-narrowed']]);
    });

    it('refuses tightened bounds', () => {
      expect(
        changes(z.object({ n: z.number().min(0) }), z.object({ n: z.number().min(1) }), 'backward'),
      ).toEqual([['backward', '$.n', 'constraint-tightened']]);
      expect(
        changes(z.object({ s: z.string() }), z.object({ s: z.string().max(10) }), 'backward'),
      ).toEqual([['backward', '$.s', 'constraint-tightened']]);
      expect(
        check(z.object({ n: z.number().min(1) }), z.object({ n: z.number().min(0) }), 'backward'),
      ).toEqual([]);
    });

    it('follows nested objects and array items, with paths', () => {
      const line = z.object({ sku: z.string(), quantity: z.number() });
      const prev = z.object({ customer: z.object({ name: z.string() }), lines: z.array(line) });
      const next = z.object({
        customer: z.object({ name: z.string(), email: z.string() }),
        lines: z.array(z.object({ sku: z.string(), quantity: z.string() })),
      });
      expect(changes(prev, next, 'backward')).toEqual([
        ['backward', '$.customer.email', 'required-added'],
        ['backward', '$.lines[].quantity', 'type-changed'],
      ]);
    });

    it('checks unions branch by branch', () => {
      const prev = z.object({
        pay: z.union([z.object({ card: z.string() }), z.object({ iban: z.string() })]),
      });
      const narrower = z.object({ pay: z.object({ card: z.string() }) });
      expect(changes(prev, narrower, 'backward').map((c) => c[1])).toContain('$.pay.card');
      expect(check(narrower, prev, 'backward')).toEqual([]);
    });

    it('handles recursive schemas', () => {
      type Node = { name: string; children: Node[] };
      const v1: z.ZodType<Node> = z.object({
        name: z.string(),
        get children() {
          return z.array(v1);
        },
      });
      const v2 = z.object({
        name: z.string(),
        get children() {
          return z.array(v2);
        },
        size: z.number().optional(),
      });
      expect(check(v1, v2, 'full')).toEqual([]);
      const v3 = z.object({
        name: z.number(),
        get children() {
          return z.array(v3);
        },
      });
      expect(changes(v1, v3, 'backward')).toEqual([['backward', '$.name', 'type-changed']]);
    });

    it('treats keywords it cannot reason about as breaking when they change', () => {
      const prev = { type: 'object', not: { required: ['a'] } };
      expect(check(prev, prev, 'backward')).toEqual([]);
      expect(changes(prev, { type: 'object', not: { required: ['b'] } }, 'backward')).toEqual([
        ['backward', '$', 'unsupported-keyword'],
      ]);
    });

    it('accepts true and {} as anything', () => {
      expect(check(base, true, 'backward')).toEqual([]);
      expect(check(base, {}, 'backward')).toEqual([]);
      expect(changes(true, base, 'backward')[0]?.[2]).toBe('type-changed');
    });
  });

  describe('forward (the old schema reads new data)', () => {
    it('allows adding a field to an open object, even a required one', () => {
      expect(check(base, base.extend({ currency: z.string() }), 'forward')).toEqual([]);
    });

    it('refuses removing a field the old schema requires', () => {
      expect(changes(base, z.object({ orderId: z.string() }), 'forward')).toEqual([
        ['forward', '$.total', 'required-added'],
      ]);
    });

    it('refuses adding a field to a closed old schema', () => {
      const prev = z.strictObject({ orderId: z.string() });
      const next = z.strictObject({ orderId: z.string(), note: z.string().optional() });
      expect(changes(prev, next, 'forward')).toEqual([['forward', '$.note', 'property-refused']]);
      expect(check(prev, next, 'backward')).toEqual([]);
    });

    it('refuses widening an enum, allows narrowing it', () => {
      const prev = z.object({ status: z.enum(['open', 'paid']) });
      expect(
        changes(prev, z.object({ status: z.enum(['open', 'paid', 'held']) }), 'forward'),
      ).toEqual([['forward', '$.status', 'enum-narrowed']]);
      expect(check(prev, z.object({ status: z.enum(['open']) }), 'forward')).toEqual([]);
    });
  });

  describe('full (both ways)', () => {
    it('allows adding or removing an optional field of an open object', () => {
      const withNote = base.extend({ note: z.string().optional() });
      expect(check(base, withNote, 'full')).toEqual([]);
      expect(check(withNote, base, 'full')).toEqual([]);
    });

    it('refuses a required addition (backward) and a required removal (forward)', () => {
      expect(changes(base, base.extend({ currency: z.string() }), 'full')).toEqual([
        ['backward', '$.currency', 'required-added'],
      ]);
      expect(changes(base, z.object({ orderId: z.string() }), 'full')).toEqual([
        ['forward', '$.total', 'required-added'],
      ]);
    });

    it('refuses any enum change, reporting both directions', () => {
      const prev = z.object({ status: z.enum(['a', 'b']) });
      expect(changes(prev, z.object({ status: z.enum(['a', 'c']) }), 'full')).toEqual([
        ['backward', '$.status', 'enum-narrowed'],
        ['forward', '$.status', 'enum-narrowed'],
      ]);
    });
  });

  describe('none', () => {
    it('allows anything', () => {
      expect(check(base, z.object({ totally: z.boolean() }), 'none')).toEqual([]);
      expect(check(base, false, 'none')).toEqual([]);
    });
  });
});
