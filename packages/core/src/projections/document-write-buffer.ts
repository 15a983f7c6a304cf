/**
 * The document writes of one transaction to one collection, held back so that a batch of
 * events writes each document once, in a few multi-row statements, instead of one statement
 * (and, on PostgreSQL, one round trip) per write. The last write of an id wins: a put after a
 * put replaces it, a delete after a put turns it into a delete. Reads look here first, so a
 * projection reads its own writes before they reach the table.
 *
 * The SQL adapters keep one per collection per transaction, for read-model handles bound
 * with `{ buffered: true }`, and write it out ({@link take}) before the transaction commits,
 * and before any query the buffer cannot answer alone (`find`, `count`).
 */
export class DocumentWriteBuffer {
  /** What the transaction knows of each id it touched: the document's JSON text, or null. */
  private readonly texts = new Map<string, string | null>();
  /**
   * The ids whose writes the table does not have yet, in the order they were first written.
   * A set beside the map rather than an entry object per id: an object per document written,
   * alive until the batch commits, is what V8 moves to its old generation, and the JSON text
   * each holds would then outlive young-generation collections.
   */
  private readonly dirty = new Set<string>();

  /** Whether writes wait to be written out. */
  get pending(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * What the transaction knows of `id`: its JSON text, null when it has none, or undefined
   * when the buffer does not know (the table has the answer).
   */
  lookup(id: string): string | null | undefined {
    return this.texts.get(id);
  }

  /** Buffers a write of `json` under `id` (null: a delete). */
  write(id: string, json: string | null): void {
    this.texts.set(id, json);
    this.dirty.add(id);
  }

  /** Records what the table holds for `id` now (after a write that went straight to it). */
  known(id: string, json: string | null): void {
    this.dirty.delete(id);
    this.texts.set(id, json);
  }

  /**
   * The writes waiting, as upserts (ids and JSON texts, in the order first written) and
   * deletes; from then on they count as written. Each id appears once.
   */
  take(): { upsertIds: string[]; upsertDocs: string[]; deleteIds: string[] } {
    const upsertIds: string[] = [];
    const upsertDocs: string[] = [];
    const deleteIds: string[] = [];
    for (const id of this.dirty) {
      const json = this.texts.get(id) as string | null;
      if (json === null) deleteIds.push(id);
      else {
        upsertIds.push(id);
        upsertDocs.push(json);
      }
    }
    this.dirty.clear();
    return { upsertIds, upsertDocs, deleteIds };
  }
}

/**
 * The buffers of one transaction, one per collection table, each with the function that
 * writes it out on its adapter.
 */
export class TransactionWriteBuffers {
  private readonly tables = new Map<
    string,
    { buffer: DocumentWriteBuffer; flush: (buffer: DocumentWriteBuffer) => void | Promise<void> }
  >();

  /** The buffer of `table`, made (with the function writing it out) the first time. */
  buffer(
    table: string,
    flush: (buffer: DocumentWriteBuffer) => void | Promise<void>,
  ): DocumentWriteBuffer {
    let entry = this.tables.get(table);
    if (!entry) this.tables.set(table, (entry = { buffer: new DocumentWriteBuffer(), flush }));
    return entry.buffer;
  }

  /**
   * Writes out every buffer with pending writes. Synchronous (returns undefined) when every
   * flush is, as on SQLite; a promise otherwise.
   */
  flush(): void | Promise<void> {
    const waits: Promise<void>[] = [];
    for (const { buffer, flush } of this.tables.values()) {
      if (!buffer.pending) continue;
      const done = flush(buffer);
      if (done instanceof Promise) waits.push(done);
    }
    if (waits.length === 0) return undefined;
    // One at a time would be no faster: a connection runs one statement at a time.
    return Promise.all(waits).then(() => undefined);
  }
}
