import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../core/envelope.js';
import { bridgeAppends } from './bridge-appends.js';
import { bridgedEventId } from './bridged-event-id.js';
import { contextMap } from './context-map.js';
import { InvalidTranslationError, TranslationFailedError } from './federation-errors.js';
import { composeTranslations, runTranslation, type Translation } from './translation.js';
import {
  enrichEvents,
  filterEvents,
  mapFields,
  renameTypes,
  routeStreams,
} from './translation-steps.js';

function source(overrides: Partial<RecordedEvent> = {}): RecordedEvent {
  return {
    id: '0190a0b0-0000-7000-8000-000000000001',
    type: 'order.placed',
    stream: 'order-42',
    revision: 0,
    position: 7,
    data: { orderId: '42', amount: { total: 30, currency: 'EUR' }, internal: 'x' },
    metadata: { correlationId: 'c-1' },
    schemaVersion: 2,
    recordedAt: new Date(0),
    ...overrides,
  };
}

describe('translation steps', () => {
  it('renameTypes renames the named types only and keeps the rest of the event', async () => {
    const t = renameTypes({ 'order.placed': 'sales.order-opened' });
    expect(await runTranslation(t, source())).toEqual([
      {
        stream: 'order-42',
        type: 'sales.order-opened',
        data: source().data,
        metadata: { correlationId: 'c-1' },
        schemaVersion: 2,
      },
    ]);
    expect((await runTranslation(t, source({ type: 'order.paid' })))[0]?.type).toBe('order.paid');
  });

  it('mapFields rebuilds data from paths and functions, leaving out paths that lead nowhere', async () => {
    const t = mapFields(
      {
        id: 'orderId',
        total: 'amount.total',
        cents: (d) => (d as { amount: { total: number } }).amount.total * 100,
        gone: 'amount.nope.deeper',
      },
      { types: ['order.placed'] },
    );
    const [out] = await runTranslation(t, source());
    expect(out?.data).toEqual({ id: '42', total: 30, cents: 3000 });
    const [other] = await runTranslation(t, source({ type: 'order.paid' }));
    expect(other?.data).toEqual(source().data);
  });

  it('filterEvents drops what it rejects; enrichEvents merges data and metadata; routeStreams places', async () => {
    const t = composeTranslations(
      filterEvents((e) => e.type !== 'order.internal-note'),
      enrichEvents((_, { source: s }) => ({
        data: { from: 'shop' },
        metadata: { originPosition: s.position },
      })),
      routeStreams((e) => `sales-${e.stream}`),
    );
    expect(await runTranslation(t, source({ type: 'order.internal-note' }))).toEqual([]);
    const [out] = await runTranslation(t, source());
    expect(out).toMatchObject({
      stream: 'sales-order-42',
      data: { orderId: '42', from: 'shop' },
      metadata: { correlationId: 'c-1', originPosition: 7 },
    });
  });

  it('composes: each step sees every output of the one before, in order', async () => {
    const split: Translation = (e) => [
      { ...e, type: `${e.type}.a` },
      { ...e, type: `${e.type}.b` },
    ];
    const t = composeTranslations(split, split);
    expect((await runTranslation(t, source())).map((e) => e.type)).toEqual([
      'order.placed.a.a',
      'order.placed.a.b',
      'order.placed.b.a',
      'order.placed.b.b',
    ]);
  });

  it('a throwing or malformed translation fails with TranslationFailedError naming the event', async () => {
    const boom: Translation = () => {
      throw new Error('no mapping for currency');
    };
    const failure = await runTranslation(boom, source()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TranslationFailedError);
    expect(failure).toMatchObject({
      code: 'TRANSLATION_FAILED',
      position: 7,
      eventId: source().id,
    });
    expect((failure as Error).message).toContain('no mapping for currency');
    const malformed = (() => ({ data: 1 })) as unknown as Translation;
    await expect(runTranslation(malformed, source())).rejects.toThrow(/has no type/);
    const nested = composeTranslations(renameTypes({}), () => [{ type: 'x', data: 1, stream: '' }]);
    const nestedFailure = await runTranslation(nested, source()).catch((e: unknown) => e);
    expect(nestedFailure).toBeInstanceOf(TranslationFailedError);
    expect((nestedFailure as Error).message).not.toMatch(/failed: Translation/);
  });

  it('refuses malformed declarative steps with InvalidTranslationError', () => {
    expect(() => renameTypes({ a: '' })).toThrow(InvalidTranslationError);
    expect(() => mapFields({ a: 'x..y' })).toThrow(InvalidTranslationError);
    expect(() => contextMap({ 'order.placed': { typo: 1 } as never })).toThrow(/typo/);
    expect(() => contextMap({ 'order.placed': { stream: 'x-{nope}' } })).toThrow(/placeholder/);
    expect(() => contextMap({}, { otherwise: 'maybe' as never })).toThrow(InvalidTranslationError);
  });
});

describe('contextMap (anti-corruption layer)', () => {
  const map = contextMap({
    'order.placed': {
      type: 'sales.order-opened',
      stream: 'sales-order-{data.orderId}',
      fields: { orderId: 'orderId', total: 'amount.total' },
    },
    'order.cancelled': [
      { type: 'sales.order-closed', fields: { orderId: 'orderId' } },
      {
        type: 'sales.refund-due',
        fields: { orderId: 'orderId' },
        when: (e) => (e.data as { paid?: boolean }).paid === true,
      },
    ],
    'order.renamed': { metadata: { renamedBy: 'bridge' } },
  });

  it('maps each named type as declared, with schemaVersion 1 for a new shape', async () => {
    expect(await runTranslation(map, source())).toEqual([
      {
        stream: 'sales-order-42',
        type: 'sales.order-opened',
        data: { orderId: '42', total: 30 },
        metadata: { correlationId: 'c-1' },
        schemaVersion: 1,
      },
    ]);
  });

  it('one type may give several events, conditionally; an unchanged shape keeps its version', async () => {
    const unpaid = await runTranslation(
      map,
      source({ type: 'order.cancelled', data: { orderId: '1' } }),
    );
    expect(unpaid.map((e) => e.type)).toEqual(['sales.order-closed']);
    const paid = await runTranslation(
      map,
      source({ type: 'order.cancelled', data: { orderId: '1', paid: true } }),
    );
    expect(paid.map((e) => e.type)).toEqual(['sales.order-closed', 'sales.refund-due']);
    const [renamed] = await runTranslation(map, source({ type: 'order.renamed' }));
    expect(renamed).toMatchObject({ schemaVersion: 2, metadata: { renamedBy: 'bridge' } });
  });

  it('drops unmapped types unless told to keep them', async () => {
    expect(await runTranslation(map, source({ type: 'order.audited' }))).toEqual([]);
    const keep = contextMap({}, { otherwise: 'keep' });
    expect(await runTranslation(keep, source({ type: 'order.audited' }))).toHaveLength(1);
  });

  it('a stream template whose data field is missing fails the translation', async () => {
    await expect(runTranslation(map, source({ data: {} }))).rejects.toBeInstanceOf(
      TranslationFailedError,
    );
  });
});

describe('bridgeAppends', () => {
  it('gives deterministic v5 ids per source id, event id and output index, one request per stream', async () => {
    const t: Translation = (e) => [
      { ...e, stream: 'a' },
      { ...e, stream: 'b' },
      { ...e, stream: 'a', type: 'second' },
    ];
    const first = await bridgeAppends(source(), { sourceId: 'shop', translation: t });
    const again = await bridgeAppends(source(), { sourceId: 'shop', translation: t });
    expect(again).toEqual(first);
    expect(first.map((r) => [r.stream, r.expectedRevision, r.events.map((e) => e.id)])).toEqual([
      [
        'a',
        'any',
        [bridgedEventId('shop', source().id, 0), bridgedEventId('shop', source().id, 2)],
      ],
      ['b', 'any', [bridgedEventId('shop', source().id, 1)]],
    ]);
    expect(bridgedEventId('shop', source().id, 0)).toMatch(/^[0-9a-f-]{8}-[0-9a-f-]{4}-5/);
    expect(bridgedEventId('other', source().id, 0)).not.toBe(
      bridgedEventId('shop', source().id, 0),
    );
    expect(first[0]?.events[0]?.metadata).toEqual({
      correlationId: 'c-1',
      origin: { system: 'shop', eventId: source().id, position: 7 },
    });
  });
});
