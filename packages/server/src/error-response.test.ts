import { describe, expect, it } from 'vitest';
import {
  EventDecodeError,
  StorageFullError,
  StoreBusyError,
  WriteRejectedError,
  WrongExpectedRevisionError,
} from '@causewayjs/core';
import { errorResponse } from './error-response.js';

describe('errorResponse for storage faults', () => {
  it('answers 503 with the code for a busy store and a full disk, so clients retry later', () => {
    for (const error of [new StoreBusyError('busy'), new StorageFullError('full')]) {
      const response = errorResponse(error);
      expect(response.status).toBe(503);
      expect(response.body.code).toBe(error.code);
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
    expect(decode.body.code).toBe('INTERNAL');
  });
});

describe('errorResponse as problem details (RFC 9457)', () => {
  it('answers type, title, status, detail and instance, with the code and details as extensions', () => {
    const response = errorResponse(new WrongExpectedRevisionError('order-1', 3, 4), {
      instance: '/streams/order-1?from=2',
    });
    expect(response.status).toBe(409);
    expect(response.body).toEqual({
      type: 'urn:causeway:problem:wrong-expected-revision',
      title: 'Wrong expected revision',
      status: 409,
      detail: response.body.detail,
      instance: '/streams/order-1',
      code: 'WRONG_EXPECTED_REVISION',
      details: { stream: 'order-1', expected: 3, actual: 4 },
    });
    expect(response.body.detail).toContain('order-1');
  });

  it('hides an unexpected failure behind a bare INTERNAL problem', () => {
    const response = errorResponse(new Error('secret connection string'));
    expect(response.body).toEqual({
      type: 'urn:causeway:problem:internal',
      title: 'Internal',
      status: 500,
      detail: 'Internal server error',
      code: 'INTERNAL',
      details: null,
    });
  });
});
