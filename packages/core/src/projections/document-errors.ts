import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of document read models (`Documents`). Like the core's `ErrorCode`, a
 * code never changes meaning once published.
 */
export const DocumentErrorCode = {
  DOCUMENT_FIELD_NOT_INDEXED: 'DOCUMENT_FIELD_NOT_INDEXED',
  INVALID_DOCUMENT_ID: 'INVALID_DOCUMENT_ID',
  INVALID_DOCUMENT: 'INVALID_DOCUMENT',
  INVALID_DOCUMENT_QUERY: 'INVALID_DOCUMENT_QUERY',
  INVALID_DOCUMENT_CURSOR: 'INVALID_DOCUMENT_CURSOR',
  DOCUMENTS_READ_ONLY: 'DOCUMENTS_READ_ONLY',
} as const;

/** One of the values of {@link DocumentErrorCode}. */
export type DocumentErrorCode = (typeof DocumentErrorCode)[keyof typeof DocumentErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    documents: DocumentErrorCode;
  }
}

/**
 * A query filtered or sorted on a field that its collection does not declare as an index
 * (`documents(name, { indexes })`): declare it, so that every adapter can answer it with an
 * index rather than by reading every document.
 */
export class UnindexedFieldError extends CausewayError {
  constructor(
    readonly collection: string,
    readonly field: string,
    /** The indexes the collection declared. */
    readonly indexes: readonly string[],
  ) {
    super(
      DocumentErrorCode.DOCUMENT_FIELD_NOT_INDEXED,
      `Field "${field}" of collection "${collection}" is not indexed: declare it in documents("${collection}", { indexes }) to filter or sort on it (declared: ${indexes.length === 0 ? 'none' : indexes.join(', ')})`,
    );
  }
}

/** A document id was not a string of 1 to 256 code units of well-formed Unicode without NUL. */
export class InvalidDocumentIdError extends CausewayError {
  constructor(
    readonly collection: string,
    readonly id: unknown,
    readonly reason: string,
  ) {
    super(
      DocumentErrorCode.INVALID_DOCUMENT_ID,
      `Invalid id ${describe(id)} in collection "${collection}": ${reason}`,
    );
  }
}

/**
 * A document (or a patch, or what a patch made of a document) cannot be stored: it is not
 * JSON (`cause` is then the `NotJsonError`), holds a string that is not well-formed Unicode or
 * contains NUL, or has an indexed string that is too long.
 */
export class InvalidDocumentError extends CausewayError {
  constructor(
    readonly collection: string,
    readonly id: string,
    /** Where in the document, as a JSON path such as `$.lines[2].sku`. */
    readonly path: string,
    readonly reason: string,
    cause?: unknown,
  ) {
    super(
      DocumentErrorCode.INVALID_DOCUMENT,
      `Document "${id}" of collection "${collection}" cannot be stored: ${path}: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** A `find` or `count` query was malformed (an unknown operator, a bad operand or limit...). */
export class InvalidDocumentQueryError extends CausewayError {
  constructor(
    readonly collection: string,
    readonly reason: string,
  ) {
    super(
      DocumentErrorCode.INVALID_DOCUMENT_QUERY,
      `Invalid query on collection "${collection}": ${reason}`,
    );
  }
}

/**
 * An `after` cursor was not one that `find` returned, or was made for another order
 * (`orderBy` field or direction) than the query it was given to.
 */
export class InvalidDocumentCursorError extends CausewayError {
  constructor(
    readonly collection: string,
    readonly reason: string,
  ) {
    super(
      DocumentErrorCode.INVALID_DOCUMENT_CURSOR,
      `Invalid cursor for collection "${collection}": ${reason}`,
    );
  }
}

/** A write (`put`, `patch`, `delete`) through a query's read-model handle: write in `setup` or `apply`. */
export class DocumentsReadOnlyError extends CausewayError {
  constructor(
    readonly collection: string,
    readonly operation: string,
  ) {
    super(
      DocumentErrorCode.DOCUMENTS_READ_ONLY,
      `Cannot ${operation} in collection "${collection}" from a query: queries read only; write documents in setup or apply`,
    );
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length > 40 ? JSON.stringify(value.slice(0, 40) + '...') : JSON.stringify(value);
  return `(${value === null ? 'null' : typeof value})`;
}
