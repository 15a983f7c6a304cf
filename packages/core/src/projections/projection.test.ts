import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../core/errors.js';
import {
  belongsToBuild,
  buildNamespace,
  buildSubscriptionName,
  buildTableName,
  defineProjection,
  handlesEvent,
  isProjectionTable,
  type ProjectionDefinition,
} from './projection.js';

const valid: ProjectionDefinition<unknown> = {
  name: 'order-totals',
  version: 2,
  handles: ['order.placed'],
  setup: () => undefined,
  apply: () => undefined,
};

describe('projection definitions', () => {
  it('accepts a valid definition as is', () => {
    expect(defineProjection(valid)).toBe(valid);
    expect(defineProjection({ ...valid, mode: 'inline', streamPrefix: 'order-' })).toMatchObject({
      mode: 'inline',
    });
  });

  it.each([
    ['name', { name: 'Order-Totals' }],
    ['name', { name: 'order--totals' }],
    ['name', { name: 'order_totals' }],
    ['name', { name: '1-orders' }],
    ['name', { name: 'a'.repeat(41) }],
    ['version', { version: 0 }],
    ['version', { version: 1.5 }],
    ['version', { version: 1_000_001 }],
    ['mode', { mode: 'sync' }],
    ['handles', { handles: [] }],
    ['handles', { handles: [''] }],
    ['handles', { handles: 'order.placed' }],
    ['streamPrefix', { streamPrefix: '' }],
    ['setup', { setup: 'CREATE TABLE' }],
    ['apply', { apply: undefined }],
  ])('refuses a bad %s', (field, change) => {
    const error = (() => {
      try {
        defineProjection({ ...valid, ...change } as ProjectionDefinition<unknown>);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).toContain(`projection.${field}`);
  });

  it('refuses what is not an object', () => {
    expect(() => defineProjection(null as never)).toThrow(InvalidArgumentError);
  });
});

describe('build names', () => {
  const build = { name: 'order-totals', version: 2, build: 1 };
  const rebuilt = { ...build, build: 3 };

  it('names tables after the projection, version and build', () => {
    expect(buildNamespace(build)).toBe('order_totals_v2');
    expect(buildNamespace(rebuilt)).toBe('order_totals_v2r3');
    expect(buildTableName(build)).toBe('order_totals_v2');
    expect(buildTableName(build, 'lines')).toBe('order_totals_v2__lines');
    expect(buildTableName(rebuilt, 'by_customer')).toBe('order_totals_v2r3__by_customer');
    expect(buildSubscriptionName(build)).toBe('projection:order-totals:v2');
    expect(buildSubscriptionName(rebuilt)).toBe('projection:order-totals:v2r3');
  });

  it('refuses table names that could collide or break SQL', () => {
    for (const bad of ['Lines', 'lines__x', 'lines_', '_lines', 'a-b', 'x"; DROP', 'a'.repeat(21)])
      expect(() => buildTableName(build, bad), bad).toThrow(InvalidArgumentError);
  });

  it('tells which tables belong to a build, and to a projection', () => {
    expect(belongsToBuild(build, 'order_totals_v2')).toBe(true);
    expect(belongsToBuild(build, 'order_totals_v2__lines')).toBe(true);
    expect(belongsToBuild(build, 'order_totals_v20')).toBe(false);
    expect(belongsToBuild(build, 'order_totals_v2r3__lines')).toBe(false);
    expect(isProjectionTable('order-totals', 'order_totals_v2r3__lines')).toBe(true);
    expect(isProjectionTable('order-totals', 'order_totals_v2')).toBe(true);
    expect(isProjectionTable('order-totals', 'order_totals_vx')).toBe(false);
    // Another projection whose name extends this one's.
    expect(isProjectionTable('order', 'order_totals_v2')).toBe(false);
  });

  it('filters events by type and stream prefix', () => {
    const def = { handles: ['a.happened'], streamPrefix: 'cart-' };
    expect(handlesEvent(def, { type: 'a.happened', stream: 'cart-1' })).toBe(true);
    expect(handlesEvent(def, { type: 'a.happened', stream: 'order-1' })).toBe(false);
    expect(handlesEvent(def, { type: 'b.happened', stream: 'cart-1' })).toBe(false);
  });
});
