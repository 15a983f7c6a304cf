import { describe, expect, it } from 'vitest';
import { DocumentWriteBuffer, TransactionWriteBuffers } from './document-write-buffer.js';

describe('DocumentWriteBuffer', () => {
  it('keeps the last write of each id, deletes included, and hands each id out once', () => {
    const buffer = new DocumentWriteBuffer();
    expect(buffer.pending).toBe(false);
    expect(buffer.lookup('a')).toBeUndefined();
    buffer.write('a', '{"n":1}');
    buffer.write('b', '{"n":2}');
    buffer.write('a', '{"n":3}');
    buffer.write('b', null);
    buffer.write('c', null);
    buffer.write('c', '{"n":4}');
    expect(buffer.pending).toBe(true);
    expect(buffer.lookup('a')).toBe('{"n":3}');
    expect(buffer.lookup('b')).toBeNull();
    expect(buffer.take()).toEqual({
      upsertIds: ['a', 'c'],
      upsertDocs: ['{"n":3}', '{"n":4}'],
      deleteIds: ['b'],
    });
    // Written out: nothing pending, but still known to the transaction.
    expect(buffer.pending).toBe(false);
    expect(buffer.lookup('b')).toBeNull();
    expect(buffer.take()).toEqual({ upsertIds: [], upsertDocs: [], deleteIds: [] });
    buffer.write('a', null);
    expect(buffer.take()).toEqual({ upsertIds: [], upsertDocs: [], deleteIds: ['a'] });
  });

  it('records what a direct write left in the table without writing it again', () => {
    const buffer = new DocumentWriteBuffer();
    buffer.write('a', '{"n":1}');
    buffer.known('a', null);
    buffer.known('b', null);
    expect(buffer.pending).toBe(false);
    expect(buffer.lookup('a')).toBeNull();
    expect(buffer.take().deleteIds).toEqual([]);
  });
});

describe('TransactionWriteBuffers', () => {
  it('flushes only the tables with pending writes, synchronously when every flush is', () => {
    const buffers = new TransactionWriteBuffers();
    const flushed: string[] = [];
    const a = buffers.buffer('a', (b) => void flushed.push(`a:${b.take().upsertIds.join()}`));
    buffers.buffer('b', () => void flushed.push('b'));
    expect(buffers.buffer('a', () => undefined)).toBe(a);
    a.write('x', '1');
    expect(buffers.flush()).toBeUndefined();
    expect(flushed).toEqual(['a:x']);
    expect(buffers.flush()).toBeUndefined();
    expect(flushed).toEqual(['a:x']);
  });

  it('returns a promise when a flush is asynchronous, and rejects with its error', async () => {
    const buffers = new TransactionWriteBuffers();
    const failure = new Error('disk full');
    buffers.buffer('a', () => Promise.reject(failure)).write('x', '1');
    const result = buffers.flush();
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBe(failure);
  });
});
