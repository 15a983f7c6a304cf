import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  IncompatibleSchemaError,
  ManualClock,
  SchemaRegistry,
  type SchemaRecord,
  type SchemaStorage,
} from '@causewayjs/core';

/** How the shared suite reaches one schema storage adapter. */
export interface SchemaStorageHarness {
  /**
   * Opens a schema storage on this harness's database. Two opens share data, as two
   * processes on one database do (the memory harness hands out one shared instance).
   */
  open(): Promise<SchemaStorage>;
  /** Closes what `open` opened and drops the database. Called after every test. */
  cleanup(): Promise<void>;
}

const record = (
  type: string,
  version: number,
  schema: SchemaRecord['schema'] = { type: 'object' },
): SchemaRecord => ({
  type,
  version,
  schema,
  registeredAt: new Date('2026-04-01T08:30:00.500Z'),
});

/**
 * The schema storage contract (the registry's persistence), run against every adapter.
 *
 * @param makeHarness creates a fresh, empty database for one test.
 */
export function describeSchemaStorageConformance(
  name: string,
  makeHarness: () => Promise<SchemaStorageHarness>,
): void {
  describe(`SchemaStorage conformance: ${name}`, () => {
    let harness: SchemaStorageHarness;
    let storage: SchemaStorage;

    beforeEach(async () => {
      harness = await makeHarness();
      storage = await harness.open();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('starts empty', async () => {
      expect(await storage.listSchemas()).toEqual([]);
      expect(await storage.listCompatibility()).toEqual(new Map());
    });

    it('stores schemas and lists them by type, then version', async () => {
      const schema = {
        type: 'object',
        properties: { note: { type: 'string', description: 'naïve ☕' } },
        required: ['note'],
      };
      expect(await storage.insertSchema(record('order.placed', 1, schema))).toBe(true);
      expect(await storage.insertSchema(record('cart.opened', 1, true))).toBe(true);
      expect(await storage.insertSchema(record('order.placed', 2))).toBe(true);
      expect(await storage.listSchemas()).toEqual([
        record('cart.opened', 1, true),
        record('order.placed', 1, schema),
        record('order.placed', 2),
      ]);
    });

    it('refuses a second record of the same type and version without changing the first', async () => {
      expect(await storage.insertSchema(record('order.placed', 1, { type: 'object' }))).toBe(true);
      expect(
        await storage.insertSchema(record('order.placed', 1, { type: 'string' }), 'none'),
      ).toBe(false);
      expect((await storage.listSchemas()).map((r) => r.schema)).toEqual([{ type: 'object' }]);
      expect(await storage.listCompatibility()).toEqual(new Map());
    });

    it('stores a compatibility mode with a schema, and on its own', async () => {
      await storage.insertSchema(record('order.placed', 1), 'full');
      await storage.setCompatibility('order.paid', 'forward');
      await storage.setCompatibility('order.placed', 'none');
      expect(await storage.listCompatibility()).toEqual(
        new Map([
          ['order.paid', 'forward'],
          ['order.placed', 'none'],
        ]),
      );
    });

    it('hands out copies: changing a listed schema does not change the stored one', async () => {
      await storage.insertSchema(record('order.placed', 1, { type: 'object', required: ['a'] }));
      const [listed] = await storage.listSchemas();
      (listed?.schema as { required: string[] }).required.push('b');
      expect((await storage.listSchemas())[0]?.schema).toEqual({ type: 'object', required: ['a'] });
    });

    it('is shared by every open on the same database (another process sees the registry)', async () => {
      const other = await harness.open();
      await storage.insertSchema(record('order.placed', 1), 'full');
      expect((await other.listSchemas()).map((r) => [r.type, r.version])).toEqual([
        ['order.placed', 1],
      ]);
      expect(await other.insertSchema(record('order.placed', 1))).toBe(false);
      expect((await other.listCompatibility()).get('order.placed')).toBe('full');
    });

    it('keeps exactly one winner when registries race for the same version', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          storage.insertSchema(record('order.placed', 1, { title: `r${i}` })),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await storage.listSchemas()).toHaveLength(1);
    });

    describe('through a SchemaRegistry', () => {
      it('a registry reopened on the storage lists the schemas and modes it registered', async () => {
        const clock = new ManualClock(Date.parse('2026-04-02T00:00:00Z'));
        const first = await SchemaRegistry.open({ storage, clock });
        await first.register('order.placed', z.object({ orderId: z.string() }), {
          compatibility: 'full',
        });
        await first.register(
          'order.placed',
          z.object({ orderId: z.string(), note: z.string().optional() }),
        );
        await first.register('order.paid', z.object({ amount: z.number() }));

        const reopened = await SchemaRegistry.open({ storage: await harness.open() });
        expect(reopened.types()).toEqual(['order.paid', 'order.placed']);
        expect(reopened.list().map((s) => [s.type, s.version])).toEqual([
          ['order.paid', 1],
          ['order.placed', 1],
          ['order.placed', 2],
        ]);
        expect(reopened.get('order.placed')?.registeredAt).toEqual(
          new Date('2026-04-02T00:00:00Z'),
        );
        expect(reopened.compatibility('order.placed')).toBe('full');
        expect(reopened.compatibility('order.paid')).toBe('backward');
        expect(reopened.validate('order.placed', { orderId: 7 }).issues).toEqual([
          { path: '$.orderId', message: 'must be string' },
        ]);
        // The reopened registry keeps enforcing the stored mode.
        await expect(
          reopened.register('order.placed', z.object({ orderId: z.string(), note: z.string() })),
        ).rejects.toBeInstanceOf(IncompatibleSchemaError);
      });

      it('two registries on one storage do not both take a version', async () => {
        const a = await SchemaRegistry.open({ storage });
        const b = await SchemaRegistry.open({ storage: await harness.open() });
        await a.register('order.placed', z.object({ orderId: z.string() }));
        await b.register(
          'order.placed',
          z.object({ orderId: z.string(), x: z.string().optional() }),
        );
        const v3 = await a.register(
          'order.placed',
          z.object({ orderId: z.string(), y: z.string().optional() }),
        );
        expect(v3.version).toBe(3);
        const listed = await SchemaRegistry.open({ storage });
        expect(listed.versions('order.placed').map((v) => v.version)).toEqual([1, 2, 3]);
      });
    });
  });
}
