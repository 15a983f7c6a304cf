// The CloudEvent → event mapping, attribute by attribute.
import { describe, expect, it } from 'vitest';
import { isUuid } from '@causewayjs/core';
import { InvalidCloudEventError, binaryCloudEvent, mapCloudEvent } from '@causewayjs/server';

const base = {
  specversion: '1.0',
  id: 'evt-1',
  source: '/shop',
  type: 'order.placed',
  subject: 'order-1',
};

describe('mapCloudEvent', () => {
  it('maps the stream, type, data and well-known extensions', () => {
    const mapped = mapCloudEvent(
      {
        ...base,
        time: '2026-01-01T00:00:00Z',
        datacontenttype: 'application/json',
        data: { total: 3 },
        correlationid: 'c-1',
        causationid: 'k-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        region: 'eu',
      },
      0,
    );
    expect(mapped.stream).toBe('order-1');
    expect(mapped.cloudEventId).toBe('evt-1');
    expect(mapped.event).toMatchObject({ type: 'order.placed', data: { total: 3 } });
    expect(mapped.event.metadata).toEqual({
      correlationId: 'c-1',
      causationId: 'k-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      cloudEvent: {
        id: 'evt-1',
        source: '/shop',
        specversion: '1.0',
        time: '2026-01-01T00:00:00Z',
        subject: 'order-1',
        datacontenttype: 'application/json',
        extensions: { region: 'eu' },
      },
    });
  });

  it('prefers the causewaystream extension to subject', () => {
    expect(mapCloudEvent({ ...base, causewaystream: 'orders-eu' }, 0).stream).toBe('orders-eu');
  });

  it('keeps a UUID id, and maps other ids to the same UUID for the same source', () => {
    const uuid = '01936b8e-7c1a-7f00-8000-000000000001';
    expect(mapCloudEvent({ ...base, id: uuid }, 0).event.id).toBe(uuid);
    const a = mapCloudEvent(base, 0).event.id;
    expect(isUuid(a)).toBe(true);
    expect(mapCloudEvent(base, 0).event.id).toBe(a);
    expect(mapCloudEvent({ ...base, source: '/other' }, 0).event.id).not.toBe(a);
  });

  it('keeps data_base64 as text and data absent as null', () => {
    const binary = mapCloudEvent({ ...base, data_base64: 'AAEC' }, 0);
    expect(binary.event.data).toBe('AAEC');
    expect(binary.event.metadata?.cloudEvent).toMatchObject({ dataBase64: true });
    expect(mapCloudEvent(base, 0).event.data).toBeNull();
  });

  it('refuses what the specification does not allow, naming the attribute and index', () => {
    const refuse = (input: unknown) => {
      try {
        mapCloudEvent(input, 4);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidCloudEventError);
        return (error as InvalidCloudEventError).details as Record<string, unknown>;
      }
      throw new Error('accepted');
    };
    expect(refuse({ ...base, id: '' })).toMatchObject({ index: 4, missing: ['id'] });
    expect(refuse({ specversion: '1.0' })).toMatchObject({ missing: ['id', 'source', 'type'] });
    expect(refuse({ ...base, specversion: '2.0' })).toMatchObject({ attribute: 'specversion' });
    expect(refuse({ ...base, time: 'yesterday' })).toMatchObject({ attribute: 'time' });
    expect(refuse({ ...base, 'Bad-Name': 1 })).toMatchObject({ attribute: 'Bad-Name' });
    expect(refuse({ ...base, correlationid: 7 })).toMatchObject({ attribute: 'correlationid' });
    expect(refuse({ ...base, data: 1, data_base64: 'AA==' })).toMatchObject({ index: 4 });
    expect(refuse({ ...base, subject: undefined })).toMatchObject({ missing: ['subject'] });
    expect(refuse([base])).toMatchObject({ index: 4 });
    expect(refuse(null)).toMatchObject({ index: 4 });
  });
});

describe('binaryCloudEvent', () => {
  it('reads ce-* headers percent-decoded, the content type, and the body by kind', () => {
    const headers = {
      'ce-specversion': '1.0',
      'ce-id': 'x',
      'ce-source': '/a%20b',
      'ce-type': 't.y',
      'ce-subject': 's-1',
      'content-type': 'application/octet-stream',
      host: 'localhost',
    };
    expect(binaryCloudEvent(headers, Buffer.from([0, 1, 2]))).toEqual({
      specversion: '1.0',
      id: 'x',
      source: '/a b',
      type: 't.y',
      subject: 's-1',
      datacontenttype: 'application/octet-stream',
      data_base64: 'AAEC',
    });
    expect(binaryCloudEvent({ ...headers, 'content-type': 'text/plain' }, 'hi').data).toBe('hi');
    expect(binaryCloudEvent({ ...headers, 'ce-source': '%E0%A4%A' }, undefined).source).toBe(
      '%E0%A4%A',
    );
  });
});
