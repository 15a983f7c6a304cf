// A request body that is not valid UTF-8 is refused before it is parsed (400
// INVALID_ENCODING), on every route taking a text body, instead of being stored with U+FFFD
// in place of the bytes the client sent. Bytes sent as bytes (binary-mode CloudEvents of a
// non-text type) are kept exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, type Backend } from '@causewayjs/core';
import { backendTargets, securedServer, type SecuredServer } from './secured-server.js';

/** JSON text with `bytes` spliced into a string value. */
const withBytes = (before: string, bytes: number[], after: string) =>
  Buffer.concat([Buffer.from(before, 'utf8'), Buffer.from(bytes), Buffer.from(after, 'utf8')]);

/** Byte sequences a strict decoder refuses: a stray byte, an overlong '/', a lone surrogate, a cut sequence. */
const INVALID: number[][] = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]];

// The refusal comes before storage, but what is stored (valid text, bytes kept exactly) is
// the database's to keep: SQLite and PostgreSQL.
for (const target of await backendTargets()) {
  describe.skipIf(!target.available)(`invalid UTF-8 in request bodies on ${target.name}`, () => {
    let http: SecuredServer;
    let backend: Backend;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const opened = await target.open();
      backend = opened.backend;
      cleanup = opened.cleanup;
      http = await securedServer(backend);
    });

    afterAll(async () => {
      await http?.server.close();
      await cleanup?.();
    });

    const refused = (reply: { status: number; code: string | undefined }) => {
      expect(reply.status).toBe(400);
      expect(reply.code).toBe('INVALID_ENCODING');
    };

    it('refuses it on appends (both body forms), stream metadata and CloudEvents; nothing is written', async () => {
      for (const bytes of INVALID) {
        refused(
          await http.call('POST', '/streams/order-1', {
            as: 'admin',
            contentType: 'application/json',
            body: withBytes('{"events":[{"type":"order.placed","data":"', bytes, '"}]}'),
          }),
        );
        refused(
          await http.call('POST', '/streams/order-1', {
            as: 'admin',
            contentType: 'application/json; charset=utf-8',
            body: withBytes('[{"type":"order.placed","data":{"note":"', bytes, '"}}]'),
          }),
        );
        refused(
          await http.call('PUT', '/streams/order-1/metadata', {
            as: 'admin',
            contentType: 'application/json',
            body: withBytes('{"owner":"', bytes, '"}'),
          }),
        );
        const cloudEvent = (data: string) =>
          `{"specversion":"1.0","id":"e-1","source":"/s","type":"order.placed","subject":"order-1","data":"${data}`;
        refused(
          await http.call('POST', '/cloudevents', {
            as: 'admin',
            contentType: 'application/cloudevents+json',
            body: withBytes(cloudEvent(''), bytes, '"}'),
          }),
        );
        refused(
          await http.call('POST', '/cloudevents', {
            as: 'admin',
            contentType: 'application/cloudevents-batch+json',
            body: withBytes(`[${cloudEvent('')}`, bytes, '"}]'),
          }),
        );
        refused(
          await http.call('POST', '/cloudevents', {
            as: 'admin',
            contentType: 'text/plain',
            headers: {
              'ce-specversion': '1.0',
              'ce-id': 'e-2',
              'ce-source': '/s',
              'ce-type': 'order.placed',
              'ce-subject': 'order-1',
            },
            body: withBytes('note: ', bytes, ''),
          }),
        );
      }
      expect(await backend.store.headPosition()).toBe(0);
      expect((await backend.store.streamInfo('order-1')).metadata).toEqual({});
    });

    it('stores valid UTF-8 as sent, and bytes of a binary-mode CloudEvent exactly', async () => {
      const text = 'café, 東京, 🚚';
      const ok = await http.call('POST', '/streams/order-2', {
        as: 'admin',
        contentType: 'application/json',
        body: Buffer.from(
          JSON.stringify({ events: [{ type: 'order.placed', data: text }] }),
          'utf8',
        ),
      });
      expect(ok.status).toBe(201);
      // A leading byte order mark is dropped, as a UTF-8 decoder does, and only a leading one.
      const bom = await http.call('POST', '/cloudevents', {
        as: 'admin',
        contentType: 'text/plain',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'e-4',
          'ce-source': '/s',
          'ce-type': 'note.taken',
          'ce-subject': 'order-3',
        },
        body: Buffer.from('\ufeffnote \ufeff', 'utf8'),
      });
      expect(bom.status).toBe(201);
      const bytes = Buffer.from([0x00, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80]);
      const binary = await http.call('POST', '/cloudevents', {
        as: 'admin',
        contentType: 'application/octet-stream',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'e-3',
          'ce-source': '/s',
          'ce-type': 'blob.stored',
          'ce-subject': 'blob-1',
        },
        body: bytes,
      });
      expect(binary.status).toBe(201);
      const [stored] = await collect(backend.store.readStream('order-2'));
      expect(stored!.data).toBe(text);
      const [marked] = await collect(backend.store.readStream('order-3'));
      expect(marked!.data).toBe('note \ufeff');
      const [blob] = await collect(backend.store.readStream('blob-1'));
      expect(Buffer.from(blob!.data as string, 'base64')).toEqual(bytes);
    });
  });
}
