import { describe, expect, it } from 'vitest';
import {
  EventDecodeError,
  StorageFullError,
  StoreBusyError,
  WriteRejectedError,
} from '../core/errors.js';
import { errorResponse } from './error-response.js';

describe('errorResponse for storage faults', () => {
  it('answers 503 with the code for a busy store and a full disk, so clients retry later', () => {
    for (const error of [new StoreBusyError('busy'), new StorageFullError('full')]) {
      const response = errorResponse(error);
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe(error.code);
      expect(response.internal).toBe(false);
    }
  });

  it('answers 422 for rows the database refused, and hides an undecodable event as internal', () => {
    expect(errorResponse(new WriteRejectedError('refused', undefined, ['order-1'])).status).toBe(
      422,
    );
    const decode = errorResponse(
      new EventDecodeError({
        position: 7,
        stream: 'order-1',
        eventId: 'e-1',
        type: 'order.placed',
        revision: 0,
        column: 'data',
        reason: 'is not JSON',
      }),
    );
    expect(decode.status).toBe(500);
    expect(decode.internal).toBe(true);
    expect(decode.body.error.code).toBe('INTERNAL');
  });
});
