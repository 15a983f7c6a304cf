import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CausewayError, InvalidArgumentError } from '../core/errors.js';
import { MemorySchemaStorage } from './memory-schema-storage.js';
import {
  IncompatibleSchemaError,
  InvalidSchemaError,
  SchemaConflictError,
  UnknownSchemaVersionError,
} from './schema-errors.js';
import { SchemaRegistry } from './schema-registry.js';

const v1 = z.object({ orderId: z.string(), total: z.number() });
const v2 = v1.extend({ currency: z.string().default('EUR') });
const v3 = v2.extend({ note: z.string().optional() });

async function rejection(promise: Promise<unknown>): Promise<CausewayError> {
  return (await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  )) as CausewayError;
}

describe('SchemaRegistry', () => {
  describe('registering', () => {
    it('stores a zod schema as JSON Schema, numbering versions from 1', async () => {
      const registry = await SchemaRegistry.open();
      const first = await registry.register('order.placed', v1);
      expect(first.version).toBe(1);
      expect(first.schema).toMatchObject({
        type: 'object',
        properties: { orderId: { type: 'string' }, total: { type: 'number' } },
        required: ['orderId', 'total'],
      });
      expect((await registry.register('order.placed', v2)).version).toBe(2);
      expect(registry.latestVersion('order.placed')).toBe(2);
      expect(registry.get('order.placed', 1)?.schema).toEqual(first.schema);
      expect(registry.has('order.paid')).toBe(false);
      expect(registry.latestVersion('order.paid')).toBeUndefined();
    });

    it('accepts raw JSON Schemas of draft-07 and 2020-12', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('a.happened', {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { tuple: { type: 'array', items: [{ type: 'string' }] } },
      });
      await registry.register('b.happened', {
        type: 'object',
        properties: { n: { type: 'integer' } },
      });
      expect(registry.validate('a.happened', { tuple: [1] }).issues).toEqual([
        { path: '$.tuple[0]', message: 'must be string' },
      ]);
      expect(registry.validate('b.happened', { n: 1.5 }).issues).toEqual([
        { path: '$.n', message: 'must be integer' },
      ]);
    });

    it('is idempotent: the same schema again returns its version', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('order.placed', v1);
      await registry.register('order.placed', v2);
      expect((await registry.register('order.placed', v1)).version).toBe(1);
      expect((await registry.register('order.placed', v2, { version: 2 })).version).toBe(2);
      expect(registry.versions('order.placed')).toHaveLength(2);
    });

    it('with explicit versions, start-up code can register every version on every start', async () => {
      const storage = new MemorySchemaStorage();
      for (let boot = 0; boot < 3; boot++) {
        const registry = await SchemaRegistry.open({ storage });
        await registry.register('order.placed', v1, { version: 1 });
        await registry.register('order.placed', v2, { version: 2 });
        await registry.register('order.placed', v3, { version: 3 });
      }
      expect(await storage.listSchemas()).toHaveLength(3);
    });

    it('refuses another schema under a taken version, or a version that leaves a gap', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('order.placed', v1, { version: 1 });
      const taken = await rejection(registry.register('order.placed', v2, { version: 1 }));
      expect(taken).toBeInstanceOf(SchemaConflictError);
      expect(taken.message).toContain('already registered with a different schema');
      const gap = await rejection(registry.register('order.placed', v2, { version: 3 }));
      expect(gap).toBeInstanceOf(SchemaConflictError);
      expect(gap.message).toContain('the next one is 2');
      expect(registry.versions('order.placed')).toHaveLength(1);
    });

    it('refuses an incompatible version with every breaking change listed, storing nothing', async () => {
      const storage = new MemorySchemaStorage();
      const registry = await SchemaRegistry.open({ storage });
      await registry.register('order.placed', v1);
      const error = await rejection(
        registry.register(
          'order.placed',
          z.object({ orderId: z.number(), total: z.number(), currency: z.string() }),
        ),
      );
      expect(error).toBeInstanceOf(IncompatibleSchemaError);
      expect(error.code).toBe('INCOMPATIBLE_SCHEMA');
      expect((error as IncompatibleSchemaError).issues.map((i) => i.path)).toEqual([
        '$.currency',
        '$.orderId',
      ]);
      expect(error.message).toBe(
        'Cannot register version 2 of "order.placed": it breaks backward compatibility with version 1:\n' +
          '  - backward: $.currency: field "currency" is required by v2 without a default, and v1 data may lack it\n' +
          '  - backward: $.orderId: type changed from string (v1) to number (v2)',
      );
      expect(await storage.listSchemas()).toHaveLength(1);
      expect(registry.latestVersion('order.placed')).toBe(1);
    });

    it('check() reports without storing', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('order.placed', v1);
      expect(registry.check('order.placed', v2)).toEqual({
        compatible: true,
        mode: 'backward',
        version: 2,
        alreadyRegistered: false,
        issues: [],
      });
      expect(registry.check('order.placed', v1)).toMatchObject({
        alreadyRegistered: true,
        version: 1,
      });
      expect(
        registry.check('order.placed', z.object({ orderId: z.string() }), {
          compatibility: 'full',
        }),
      ).toMatchObject({
        compatible: false,
        issues: [{ direction: 'forward', path: '$.total' }],
      });
      expect(registry.latestVersion('order.placed')).toBe(1);
    });

    it('serialises concurrent registrations of one registry', async () => {
      const registry = await SchemaRegistry.open();
      const schemas = Array.from({ length: 5 }, (_, i) =>
        v1.extend({ [`f${i}`]: z.string().optional() }),
      );
      await registry.register('order.placed', v1);
      const results = await Promise.allSettled(
        schemas.map((s) => registry.register('order.placed', s)),
      );
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      expect(registry.versions('order.placed').map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });

  describe('compatibility modes per type', () => {
    const dropTotal = z.object({ orderId: z.string() });
    const addRequired = v1.extend({ currency: z.string() });

    const cases: [string, z.ZodType, boolean][] = [
      ['backward', dropTotal, true],
      ['backward', addRequired, false],
      ['forward', dropTotal, false],
      ['forward', addRequired, true],
      ['full', dropTotal, false],
      ['full', addRequired, false],
      ['full', v1.extend({ note: z.string().optional() }), true],
      ['none', z.object({ anything: z.boolean() }), true],
    ];
    for (const [mode, next, allowed] of cases) {
      it(`${mode}: ${allowed ? 'allows' : 'refuses'} ${next === dropTotal ? 'dropping a required field' : next === addRequired ? 'adding a required field' : 'the change'}`, async () => {
        const registry = await SchemaRegistry.open();
        await registry.register('order.placed', v1, { compatibility: mode as 'backward' });
        const result = registry.register('order.placed', next);
        if (allowed) expect((await result).version).toBe(2);
        else expect(await rejection(result)).toBeInstanceOf(IncompatibleSchemaError);
      });
    }

    it('modes are per type, default to backward, and can be changed', async () => {
      const registry = await SchemaRegistry.open({ defaultCompatibility: 'full' });
      expect(registry.compatibility('order.placed')).toBe('full');
      await registry.setCompatibility('order.placed', 'none');
      expect(registry.compatibility('order.placed')).toBe('none');
      expect(registry.compatibility('order.paid')).toBe('full');
      expect((await SchemaRegistry.open()).compatibility('x')).toBe('backward');
    });

    it('refuses unknown modes', async () => {
      const registry = await SchemaRegistry.open();
      await expect(registry.setCompatibility('a', 'sideways' as 'none')).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(
        registry.register('a', v1, { compatibility: 'both' as 'none' }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(
        SchemaRegistry.open({ defaultCompatibility: 'x' as 'none' }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('bad schemas', () => {
    it('refuses a zod schema JSON Schema cannot express', async () => {
      const registry = await SchemaRegistry.open();
      const error = await rejection(registry.register('a.happened', z.object({ at: z.date() })));
      expect(error).toBeInstanceOf(InvalidSchemaError);
      expect(error.message).toContain('zod cannot express it as JSON Schema');
    });

    it('refuses a JSON Schema ajv cannot compile, and unsupported dialects', async () => {
      const registry = await SchemaRegistry.open();
      expect(await rejection(registry.register('a.happened', { type: 'strin' }))).toBeInstanceOf(
        InvalidSchemaError,
      );
      const draft4 = await rejection(
        registry.register('a.happened', {
          $schema: 'http://json-schema.org/draft-04/schema#',
          type: 'object',
        }),
      );
      expect(draft4.message).toContain('unsupported $schema');
      expect(
        await rejection(registry.register('a.happened', 'string' as unknown as boolean)),
      ).toBeInstanceOf(InvalidSchemaError);
      expect(registry.types()).toEqual([]);
    });

    it('refuses bad type names', async () => {
      const registry = await SchemaRegistry.open();
      await expect(registry.register('', v1)).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('validating', () => {
    it('lists every failing path', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register(
        'order.placed',
        z.strictObject({
          orderId: z.string(),
          lines: z.array(z.object({ sku: z.string(), quantity: z.number().int().min(1) })),
        }),
      );
      const result = registry.validate('order.placed', {
        lines: [{ sku: 1, quantity: 0 }, {}],
        extra: true,
      });
      expect(result.valid).toBe(false);
      expect(result.issues).toEqual([
        { path: '$.orderId', message: 'is required' },
        { path: '$.extra', message: 'is not allowed (the schema lists no such field)' },
        { path: '$.lines[0].sku', message: 'must be string' },
        { path: '$.lines[0].quantity', message: 'must be >= 1' },
        { path: '$.lines[1].sku', message: 'is required' },
        { path: '$.lines[1].quantity', message: 'is required' },
      ]);
      expect(registry.validate('order.placed', { orderId: 'o', lines: [] })).toEqual({
        valid: true,
        version: 1,
        issues: [],
      });
    });

    it('validates against a chosen version', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('order.placed', z.object({ a: z.string() }));
      await registry.register(
        'order.placed',
        z.object({ a: z.string().optional(), b: z.number().optional() }),
      );
      expect(registry.validate('order.placed', {}, 1).valid).toBe(false);
      expect(registry.validate('order.placed', {}).valid).toBe(true);
    });

    it('an unknown version or type is a named error', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('order.placed', v1);
      const error = (() => {
        try {
          registry.validate('order.placed', {}, 4);
        } catch (e) {
          return e as CausewayError;
        }
      })();
      expect(error).toBeInstanceOf(UnknownSchemaVersionError);
      expect(error?.message).toBe('Version 4 of "order.placed" is not registered (registered: 1)');
      expect(() => registry.validate('nope', {})).toThrow(UnknownSchemaVersionError);
    });

    it('checks standard formats by default', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('customer.registered', {
        type: 'object',
        properties: {
          email: { type: 'string', format: 'email' },
          id: { type: 'string', format: 'uuid' },
          at: { type: 'string', format: 'date-time' },
          site: { type: 'string', format: 'uri' },
          custom: { type: 'string', format: 'not-a-known-format' },
        },
      });
      const good = {
        email: 'ada@example.com',
        id: '0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b',
        at: '2026-03-01T12:00:00Z',
        site: 'https://example.com/a',
        custom: 'anything: unknown formats are ignored',
      };
      expect(registry.validate('customer.registered', good)).toMatchObject({ valid: true });
      expect(
        registry.validate('customer.registered', {
          email: 'ada',
          id: 'nope',
          at: '2026-02-30T25:00:00Z',
          site: 'not a uri',
        }).issues,
      ).toEqual([
        { path: '$.email', message: 'must match format "email"' },
        { path: '$.id', message: 'must match format "uuid"' },
        { path: '$.at', message: 'must match format "date-time"' },
        { path: '$.site', message: 'must match format "uri"' },
      ]);
    });

    it('reports a failed zod string format once, by its format', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('customer.registered', z.object({ email: z.email() }));
      expect(registry.validate('customer.registered', { email: 'ada@' }).issues).toEqual([
        { path: '$.email', message: 'must match format "email"' },
      ]);
      expect(registry.validate('customer.registered', { email: 'ada@example.com' }).valid).toBe(
        true,
      );
    });

    it('uses formats added through configureAjv', async () => {
      const registry = await SchemaRegistry.open({
        configureAjv: (ajv) => ajv.addFormat('sku', /^[A-Z]{3}-\d+$/),
      });
      await registry.register('a.happened', {
        type: 'object',
        properties: { sku: { type: 'string', format: 'sku' } },
      });
      expect(registry.validate('a.happened', { sku: 'ABC-1' }).valid).toBe(true);
      expect(registry.validate('a.happened', { sku: 'abc' }).issues).toEqual([
        { path: '$.sku', message: 'must match format "sku"' },
      ]);
    });

    it('hands out copies of stored schemas', async () => {
      const registry = await SchemaRegistry.open();
      await registry.register('order.placed', v1);
      (registry.get('order.placed')!.schema as { required: string[] }).required.push('x');
      expect(registry.validate('order.placed', { orderId: 'o', total: 1 }).valid).toBe(true);
    });
  });
});
