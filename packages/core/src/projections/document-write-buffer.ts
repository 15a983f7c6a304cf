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
  /**
   * What the transaction knows of each id it touched: the document's JSON text, or null when
   * there is none; `dirty` when the table does not have it yet.
   */
  private readonly entries = new Map<string, { json: string | null; dirty: boolean }>();
  private dirtyCount = 0;

  /** Whether writes wait to be written out. */
  get pending(): boolean {
    return this.dirtyCount > 0;
  }

  /**
   * What the transaction knows of `id`: its JSON text, null when it has none, or undefined
   * when the buffer does not know (the table has the answer).
   */
  lookup(id: string): string | null | undefined {
    return this.entries.get(id)?.json;
  }

  /** Buffers a write of `json` under `id` (null: a delete). */
  write(id: string, json: string | null): void {
    const entry = this.entries.get(id);
    if (entry === undefined) {
      this.entries.set(id, { json, dirty: true });
      this.dirtyCount += 1;
      return;
    }
    entry.json = json;
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirtyCount += 1;
    }
  }

  /** Records what the table holds for `id` now (after a write that went straight to it). */
  known(id: string, json: string | null): void {
    const entry = this.entries.get(id);
    if (entry?.dirty) this.dirtyCount -= 1;
    this.entries.set(id, { json, dirty: false });
  }

  /**
   * The writes waiting, as upserts (ids and JSON texts, in the order first written) and
   * deletes; from then on they count as written. Each id appears once.
   */
  take(): { upsertIds: string[]; upsertDocs: string[]; deleteIds: string[] } {
    const upsertIds: string[] = [];
    const upsertDocs: string[] = [];
    const deleteIds: string[] = [];
    if (this.dirtyCount === 0) return { upsertIds, upsertDocs, deleteIds };
    for (const [id, entry] of this.entries) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      if (entry.json === null) deleteIds.push(id);
      else {
        upsertIds.push(id);
        upsertDocs.push(entry.json);
      }
    }
    this.dirtyCount = 0;
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
